/**
 * How every handler is bundled, stated once: the stack's functions
 * (`DroplineFunction`) and the bench, which measures the bundles that deploy,
 * both build with these esbuild options. ESM because middy 7 is ESM-only;
 * the AWS SDK v3 is left to the Lambda runtime.
 */
export const handlerBundling = {
  format: 'esm',
  platform: 'node',
  target: 'node24',
  minify: true,
  /** Written beside the bundle (with `--enable-source-maps`, stack traces name the TypeScript source). */
  sourceMap: true,
  mainFields: ['module', 'main'],
  external: ['@aws-sdk/*'],
  /** CommonJS dependencies still call `require`, which an ES module does not have of its own. */
  banner: "import{createRequire as __cr}from'module';const require=__cr(import.meta.url);",
} as const;
