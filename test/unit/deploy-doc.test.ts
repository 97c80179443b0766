/**
 * docs/deploy.md's "Deploy" section is pasted into a shell by whoever deploys: its commands must parse,
 * set every variable before they use it, and name only files and stack outputs that exist.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '../..');
const doc = readFileSync(join(root, 'docs/deploy.md'), 'utf8');

/** Every fenced shell block between `## Deploy` and the next `## ` heading, joined in order. */
function deployScript(): string {
  const start = doc.indexOf('\n## Deploy\n');
  if (start < 0) throw new Error('docs/deploy.md has no "## Deploy" section');
  const next = doc.indexOf('\n## ', start + 1);
  const section = doc.slice(start, next < 0 ? undefined : next);
  const blocks = [...section.matchAll(/```(?:sh|bash)?\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
  if (blocks.length === 0) throw new Error('the Deploy section has no shell block');
  return blocks.join('\n');
}

/** Lines as the shell reads them for expansion: no single-quoted text, no comments. */
const expandable = (line: string) => line.replace(/'[^']*'/g, "''").replace(/(^|\s)#.*$/, '');

/** `$NAME` / `${NAME}` used on a line before any assignment on an earlier line, with its line. */
function unsetUses(script: string): string[] {
  const assigned = new Set<string>();
  const unset: string[] = [];
  for (const line of script.split('\n')) {
    const text = expandable(line);
    for (const match of text.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)) {
      const name = match[1] as string;
      if (!assigned.has(name)) unset.push(`${name} in: ${line.trim()}`);
    }
    const assignment = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=/.exec(text);
    if (assignment?.[1]) assigned.add(assignment[1]);
  }
  return unset;
}

test('the Deploy section parses as bash', () => {
  const script = deployScript();

  const check = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });

  expect(check.stderr).toBe('');
  expect(check.status).toBe(0);
});

test('the Deploy section sets every variable before it uses it', () => {
  expect(unsetUses(deployScript())).toEqual([]);
});

test('the Deploy section names only files that exist', () => {
  const commands = deployScript().split('\n').map(expandable).join('\n');

  const paths = [...commands.matchAll(/[\w./-]+\.json\b/g)].map((match) => match[0]);

  expect(paths.length).toBeGreaterThan(0);
  expect(paths.filter((path) => !existsSync(join(root, path)))).toEqual([]);
});

test('the Deploy section reads only stack outputs the stacks declare', () => {
  const stacks = join(root, 'lib/stacks');
  const declared = new Set(
    readdirSync(stacks).flatMap((file) =>
      [...readFileSync(join(stacks, file), 'utf8').matchAll(/new CfnOutput\(this, '(\w+)'/g)].map((match) => match[1]),
    ),
  );
  const read = [...deployScript().matchAll(/OutputKey=='(\w+)'/g)].map((match) => match[1]);

  expect(read.length).toBeGreaterThan(0);
  expect(read.filter((key) => !declared.has(key))).toEqual([]);
});
