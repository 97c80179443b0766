/**
 * The edge function as CloudFront takes it: the source with its comments and
 * whitespace taken out (esbuild's `minifyWhitespace`; no identifier is
 * renamed, so `handler` stays the name CloudFront calls). esbuild prints
 * `{ token: token }` as `{ token }`, which runtime 2.0 does not list; told that
 * object extensions are not supported, it keeps the longhand. The edge stack
 * checks the result against the syntax runtime 2.0 lists (`lib/constructs/edge-runtime-syntax.ts`):
 * a build that is not runtime 2.0's fails the synth, not a deployed stack's
 * every request. CloudFront Functions count
 * the code as uploaded against their 10 KB ("Quotas on CloudFront
 * Functions", CloudFront Developer Guide,
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html#limits-functions),
 * so the source keeps its comments. The stack uploads exactly this
 * (`lib/stacks/edge-stack.ts`), and the local sandbox runs exactly this
 * (`local/edge/cloudfront-function.ts`).
 */
import { readFileSync } from 'node:fs';
import { transformSync } from 'esbuild';

export interface EdgeBuild {
  /**
   * Whether the origin verifies shopper identity (the shop's identity provider is configured): only then is
   * the bearer token's subject the customer, and the edge compares it with an admission's
   * (`BEARER_IS_CUSTOMER` in the function, replaced here).
   */
  readonly identity: boolean;
}

export function edgeFunctionCode(file: string, build: EdgeBuild): string {
  return transformSync(readFileSync(file, 'utf8'), {
    loader: 'js',
    minifyWhitespace: true,
    legalComments: 'none',
    charset: 'utf8',
    supported: { 'object-extensions': false },
    define: { BEARER_IS_CUSTOMER: String(build.identity) },
  }).code;
}
