/**
 * The rooms of the tree and what each may import (README, "Project layout"),
 * read off the import statements themselves, so an import across a wall fails
 * here rather than in review. Dependencies point one way: bin/ → lib/ →
 * contract/ ← lambdas/; local/ runs lambdas/ and reads lib/ only to plan.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

const ROOMS = [
  'contract',
  'lambdas/domain',
  'lambdas/adapters',
  'lambdas/handlers',
  'lambdas/shared',
  'lib',
  'local',
  'edge',
  'bench',
  'bin',
] as const;
type Room = (typeof ROOMS)[number] | 'test' | 'elsewhere';

/** Which rooms each room may import from (its own included). */
const MAY_IMPORT: Readonly<Record<(typeof ROOMS)[number], readonly Room[]>> = {
  contract: ['contract'],
  'lambdas/domain': ['lambdas/domain', 'contract'],
  'lambdas/adapters': ['lambdas/adapters', 'lambdas/domain', 'contract'],
  'lambdas/shared': ['lambdas/shared', 'lambdas/adapters', 'lambdas/domain', 'contract'],
  'lambdas/handlers': ['lambdas/shared', 'lambdas/adapters', 'lambdas/domain', 'contract'],
  lib: ['lib', 'contract', 'edge'],
  local: ['local', 'contract', 'lambdas/handlers', 'lib', 'edge'],
  edge: ['edge'],
  bench: ['bench', 'contract', 'lambdas/adapters', 'lib', 'local', 'edge'],
  bin: ['lib', 'local'],
};

/** Where local/ may read lib/: capacity planning for `dropline preflight`, which nothing else answers. */
const LOCAL_MAY_READ_LIB = ['local/preflight.ts'];

/** Packages a room may use; rooms not named here may use any. */
const PACKAGES: Partial<Record<Room, (name: string) => boolean>> = {
  contract: (name) => name === 'zod' || name.startsWith('zod/'),
  'lambdas/domain': () => false,
  // The function imports CloudFront's own module; its build (what the stack uploads) runs esbuild.
  edge: (name) => name === 'cloudfront' || name === 'esbuild',
};
const INFRASTRUCTURE_PACKAGES = ['aws-cdk-lib', 'constructs', 'cdk-nag'];

interface Import {
  readonly file: string;
  readonly specifier: string;
}

const STATIC = /^\s*(?:import|export)\b[^;]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm;
/** `import('…')`, `typeof import('…')`, and a template's fixed start: `import(\`../lambdas/handlers/${name}.ts\`)`. */
const DYNAMIC = /\bimport\(\s*(?:['"]([^'"]+)['"]|`([^`$]+))/g;

function importsOf(file: string, source: string): Import[] {
  const found: Import[] = [];
  for (const match of source.matchAll(STATIC)) found.push({ file, specifier: (match[1] ?? match[2]) as string });
  for (const match of source.matchAll(DYNAMIC)) found.push({ file, specifier: (match[1] ?? match[2]) as string });
  return found;
}

function roomOf(path: string): Room {
  if (path === 'test' || path.startsWith('test/')) return 'test';
  return ROOMS.find((room) => path === room || path.startsWith(`${room}/`)) ?? 'elsewhere';
}

const packageOf = (specifier: string) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

/** Each import that crosses a wall, as `file → specifier (why)`. */
function violations({ file, specifier }: Import): string[] {
  const from = roomOf(file);
  if (from === 'test' || from === 'elsewhere') return [];
  if (!specifier.startsWith('.')) {
    if (isBuiltin(specifier)) return [];
    const name = packageOf(specifier);
    const allowed = PACKAGES[from];
    if (allowed && !allowed(specifier)) return [`${file} → ${specifier} (${from} uses no package ${name})`];
    if (file.startsWith('lambdas/') && INFRASTRUCTURE_PACKAGES.includes(name)) {
      return [`${file} → ${specifier} (the runtime does not load the CDK)`];
    }
    return [];
  }
  const target = relative(root, resolve(root, dirname(file), specifier));
  const to = roomOf(target);
  if (!MAY_IMPORT[from].includes(to)) return [`${file} → ${specifier} (${from} may not import ${to})`];
  if (from === 'local' && to === 'lib' && !LOCAL_MAY_READ_LIB.includes(file)) {
    return [`${file} → ${specifier} (local/ reads lib/ only in ${LOCAL_MAY_READ_LIB.join(', ')})`];
  }
  return [];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|mjs|js)$/.test(entry.name) ? [path] : [];
  });
}

const files = ['contract', 'lambdas', 'lib', 'local', 'edge', 'bench', 'bin'].flatMap(sourceFiles);
const imports = files.flatMap((file) => importsOf(file, readFileSync(join(root, file), 'utf8')));

describe('the project layout', () => {
  it('reads the imports it checks, the handlers the local runtime loads by name included', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(imports).toContainEqual({ file: 'local/stack.ts', specifier: '../lambdas/handlers/' });
    expect(imports).toContainEqual({ file: 'bin/dropline.js', specifier: '../local/cli.ts' });
  });

  it.each(ROOMS)('lets %s import only what its room may', (room) => {
    const crossing = imports.filter(({ file }) => roomOf(file) === room).flatMap(violations);

    expect(crossing).toEqual([]);
  });

  it('names lambdas/ in lib/ only for the handler entry files the functions bundle', () => {
    const naming = files
      .filter((file) => file.startsWith('lib/'))
      .filter((file) => /['"`][./]*lambdas\//.test(readFileSync(join(root, file), 'utf8')));

    expect(naming).toEqual(['lib/constructs/dropline-function.ts']);
  });

  it.each([
    ['lambdas/shared/http.ts', '../../lib/config/settings', /lambdas\/shared may not import lib/],
    ['contract/routes.ts', '../lambdas/handlers/health', /contract may not import lambdas\/handlers/],
    ['lib/constructs/grants.ts', '../../local/stack', /lib may not import local/],
    ['lambdas/domain/stock.ts', '../adapters/aws-faults', /lambdas\/domain may not import lambdas\/adapters/],
    ['lambdas/domain/stock.ts', '@aws-sdk/lib-dynamodb', /lambdas\/domain uses no package/],
    ['contract/messages.ts', '@middy/core', /contract uses no package @middy\/core/],
    ['lambdas/handlers/health.ts', 'aws-cdk-lib/aws-iam', /does not load the CDK/],
    ['local/stack.ts', '../lib/config/capacity', /local\/ reads lib\/ only in/],
    ['edge/build.ts', '../local/stack', /edge may not import local/],
  ])('refuses %s importing %s', (file, specifier, reason) => {
    expect(violations({ file, specifier })).toEqual([expect.stringMatching(reason)]);
  });
});
