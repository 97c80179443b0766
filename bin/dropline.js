#!/usr/bin/env node
// Entry of the `dropline` command: checks the Node version, then runs the
// TypeScript CLI through tsx so that no build step stands between a fresh
// clone and a running stack.
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  console.error(`dropline needs Node.js 24 or newer (found ${process.versions.node}). See README.md, "Prerequisites".`);
  // 3: the environment is not fit to run (see `dropline --help`, "Exit codes"); 1 means a promise broke.
  process.exit(3);
}

const { register } = await import('tsx/esm/api');
register();
const { main, describeFailure } = await import('../local/cli.ts');
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  console.error(`dropline: ${describeFailure(error)}`);
  // Anything that escapes the CLI is a failure of the environment, never a broken promise (1).
  process.exitCode = 3;
}
