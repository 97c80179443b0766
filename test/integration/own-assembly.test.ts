/**
 * The app's own assembly is synthesized by the CDK CLI once per state of its
 * sources and found by hash afterwards. A small CDK app stands in for the
 * project (the real one takes most of a minute to bundle); it lives inside
 * the repository so it resolves the same aws-cdk and aws-cdk-lib.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import {
  ASSEMBLY_SOURCES,
  assemblyHash,
  ownAssembly,
  PROJECT_DIR,
  SynthError,
} from '../../local/assembly/own-assembly';

const project = join(PROJECT_DIR, '.dropline', 'test-projects', randomBytes(6).toString('hex'));
const cacheDir = join(project, '.cache');

const app = (bucketName: string) => `
import { App, Stack } from 'aws-cdk-lib';
import { CfnBucket } from 'aws-cdk-lib/aws-s3';
const app = new App();
const stack = new Stack(app, 'Tiny');
new CfnBucket(stack, 'Bucket', { bucketName: ${JSON.stringify(bucketName)} + (stack.node.tryGetContext('suffix') ?? '') });
app.synth();
`;

function write(path: string, text: string): void {
  mkdirSync(join(project, path, '..'), { recursive: true });
  writeFileSync(join(project, path), text);
}

function bucketOf(dir: string): string {
  const template = JSON.parse(readFileSync(join(dir, 'Tiny.template.json'), 'utf8'));
  return template.Resources.Bucket.Properties.BucketName;
}

beforeAll(() => {
  write('cdk.json', JSON.stringify({ app: 'node bin/app.mjs' }));
  write('bin/app.mjs', app('first'));
  write('lambdas/handler.ts', 'export const handler = async () => 1;\n');
});

afterAll(() => rmSync(project, { recursive: true, force: true }));

test('the hash follows the sources and the context, and nothing else', () => {
  const before = assemblyHash(project);
  expect(assemblyHash(project)).toBe(before);
  write('local/not-a-source.ts', 'export {};\n');
  write('README.md', '# changed\n');
  expect(assemblyHash(project)).toBe(before);
  write('lambdas/handler.ts', 'export const handler = async () => 2;\n');
  const edited = assemblyHash(project);
  expect(edited).not.toBe(before);
  expect(assemblyHash(project, { suffix: '-b' })).not.toBe(edited);
  write('lambdas/handler.ts', 'export const handler = async () => 1;\n');
  expect(assemblyHash(project)).toBe(before);
});

/** The project's files under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

test("the hash covers every folder the app's own code imports or reads a file from", () => {
  // What lib/ and bin/ reach outside themselves: relative imports, and files read by URL (the edge
  // function, the handlers, the page). An edit under a folder the hash leaves out would run a stale assembly.
  const reached = new Set<string>();
  for (const file of ['lib', 'bin'].flatMap((dir) => filesUnder(join(PROJECT_DIR, dir)))) {
    const source = readFileSync(file, 'utf8');
    const targets = [
      ...source.matchAll(/\bfrom\s+'(\.\.?\/[^']+)'/g),
      ...source.matchAll(/new URL\(\s*'(\.\.?\/[^']+)',\s*import\.meta\.url\)/g),
    ].map((match) => relative(PROJECT_DIR, resolve(dirname(file), match[1] as string)));
    for (const target of targets) reached.add(target.split('/')[0] as string);
  }

  expect([...reached].sort()).toEqual(expect.arrayContaining(['contract', 'edge', 'lambdas', 'lib', 'site']));
  expect([...reached].filter((top) => !ASSEMBLY_SOURCES.includes(top))).toEqual([]);
});

test('the hash follows the drop plan a context names, wherever the plan lives', () => {
  write('plans/drop.json', '{"drops":[]}\n');
  const context = { dropPlan: 'plans/drop.json' };
  const before = assemblyHash(project, context);
  expect(assemblyHash(project, context)).toBe(before);
  write('plans/drop.json', '{"drops":[{"sku":"A"}]}\n');
  expect(assemblyHash(project, context)).not.toBe(before);
  write('plans/drop.json', '{"drops":[]}\n');
  expect(assemblyHash(project, context)).toBe(before);

  // Named in cdk.json's context instead of on the command line.
  write('cdk.json', JSON.stringify({ app: 'node bin/app.mjs', context: { dropPlan: 'plans/drop.json' } }));
  const fromCdkJson = assemblyHash(project);
  write('plans/drop.json', '{"drops":[{"sku":"B"}]}\n');
  expect(assemblyHash(project)).not.toBe(fromCdkJson);
  write('cdk.json', JSON.stringify({ app: 'node bin/app.mjs' }));
  write('plans/drop.json', '{"drops":[]}\n');
});

test('synthesizes once, then finds the assembly by its hash until a source changes', async () => {
  const lines: string[] = [];
  const first = await ownAssembly({ projectDir: project, cacheDir, log: (line) => lines.push(line) });
  expect(first.cached).toBe(false);
  expect(lines.join('\n')).toMatch(/Synthesizing the app/);
  expect(bucketOf(first.dir)).toBe('first');

  const again = await ownAssembly({ projectDir: project, cacheDir });
  expect(again).toMatchObject({ cached: true, dir: first.dir });

  write('bin/app.mjs', app('second'));
  const edited = await ownAssembly({ projectDir: project, cacheDir });
  expect(edited.cached).toBe(false);
  expect(edited.dir).not.toBe(first.dir);
  expect(bucketOf(edited.dir)).toBe('second');

  const withContext = await ownAssembly({ projectDir: project, cacheDir, context: { suffix: '-ctx' } });
  expect(withContext.cached).toBe(false);
  expect(bucketOf(withContext.dir)).toBe('second-ctx');
  // Only whole assemblies are in the cache: no staging folder is left behind.
  expect(readdirSync(cacheDir).filter((name) => name.startsWith('.'))).toEqual([]);
}, 180_000);

test('two starts at once both end with the same whole assembly', async () => {
  write('bin/app.mjs', app('raced'));
  const [a, b] = await Promise.all([
    ownAssembly({ projectDir: project, cacheDir }),
    ownAssembly({ projectDir: project, cacheDir }),
  ]);
  expect(a.dir).toBe(b.dir);
  expect(bucketOf(a.dir)).toBe('raced');
  expect(readdirSync(cacheDir).filter((name) => name.startsWith('.'))).toEqual([]);
}, 180_000);

test('a failing synth says so with the app’s own output, caches nothing, and leaves no staging behind', async () => {
  // What a synth killed half-way leaves: its staging folder, named for a process that is gone.
  mkdirSync(join(cacheDir, '.synth-999999999-dead'), { recursive: true });
  write('bin/app.mjs', "throw new Error('the app refuses: bad plan');\n");
  const failed = ownAssembly({ projectDir: project, cacheDir });
  await expect(failed).rejects.toBeInstanceOf(SynthError);
  await expect(failed).rejects.toThrow(/the app refuses: bad plan/);
  const hash = assemblyHash(project);
  expect(readdirSync(cacheDir)).not.toContain(hash);
  expect(readdirSync(cacheDir).filter((name) => name.startsWith('.'))).toEqual([]);
}, 180_000);

test('the synth sees none of the user’s AWS or CDK settings', async () => {
  write(
    'bin/app.mjs',
    app('env') +
      "\nimport { writeFileSync } from 'node:fs';\n" +
      "writeFileSync(process.env.CDK_OUTDIR + '/seen.json', JSON.stringify(Object.keys(process.env).filter((k) => /^(AWS_PROFILE|AWS_ACCESS_KEY_ID|AWS_REGION|CDK_DEFAULT_ACCOUNT)$/.test(k))));\n",
  );
  const saved = { ...process.env };
  Object.assign(process.env, {
    AWS_PROFILE: 'someone',
    AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
    AWS_REGION: 'eu-west-3',
    CDK_DEFAULT_ACCOUNT: '123456789012',
  });
  try {
    const built = await ownAssembly({ projectDir: project, cacheDir });
    expect(JSON.parse(readFileSync(join(built.dir, 'seen.json'), 'utf8'))).toEqual([]);
  } finally {
    for (const name of ['AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_REGION', 'CDK_DEFAULT_ACCOUNT']) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  }
}, 180_000);
