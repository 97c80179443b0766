/**
 * Bundles every handler as the deployed stack does (`lib/config/bundling.ts`)
 * and measures size and module init.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { envVars } from '../contract/env-vars';
import { handlerBundling } from '../lib/config/bundling';
import { median } from './load';

const root = join(import.meta.dirname, '..');
const outDir = join(root, '.dropline', 'bench', 'bundles');

export async function bundleHandlers(): Promise<Record<string, number>> {
  mkdirSync(outDir, { recursive: true });
  const handlersDir = join(root, 'lambdas', 'handlers');
  const entries = readdirSync(handlersDir).filter((file) => file.endsWith('.ts'));
  const emptyEntry = join(outDir, 'empty-handler.ts');
  writeFileSync(emptyEntry, "export const handler = async () => ({ statusCode: 200, body: '' });\n");
  const sizes: Record<string, number> = {};
  for (const entry of [...entries.map((file) => join(handlersDir, file)), emptyEntry]) {
    const name = basename(entry, '.ts');
    const outfile = join(outDir, `${name}.mjs`);
    await bundleAsDeployed(entry, outfile);
    sizes[name] = statSync(outfile).size / 1024;
  }
  return sizes;
}

/** One handler bundled as the stack bundles it, less the source map (it deploys beside the bundle; it is not what loads). */
export async function bundleAsDeployed(entry: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    minify: handlerBundling.minify,
    platform: handlerBundling.platform,
    target: handlerBundling.target,
    format: handlerBundling.format,
    mainFields: [...handlerBundling.mainFields],
    external: [...handlerBundling.external],
    banner: { js: handlerBundling.banner },
    logLevel: 'error',
  });
}

/** Median module init time in ms of a bundle, each sample in a fresh Node process. */
export function initTimes(names: readonly string[], samples: number): Record<string, number> {
  const times: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  for (let sample = 0; sample < samples; sample++) {
    for (const name of names) {
      const url = pathToFileURL(join(outDir, `${name}.mjs`)).href;
      const script = `const t=performance.now();await import(${JSON.stringify(url)});console.log(performance.now()-t)`;
      const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
        env: { ...process.env, [envVars.tableName]: 'bench', AWS_REGION: 'us-east-1', NODE_OPTIONS: '' },
      });
      if (result.status !== 0) throw new Error(`init of ${name} failed: ${result.stderr}`);
      times[name]?.push(Number(result.stdout.trim()));
    }
  }
  return Object.fromEntries(Object.entries(times).map(([name, values]) => [name, median(values)]));
}
