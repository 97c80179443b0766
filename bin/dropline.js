#!/usr/bin/env node
// Entry of the `dropline` command: checks the Node version, then runs the
// TypeScript CLI through tsx so that no build step stands between a fresh
// clone and a running stack.
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  console.error(`dropline needs Node.js 24 or newer (found ${process.versions.node}). See README.md, "Prerequisites".`);
  process.exit(1);
}

const { register } = await import('tsx/esm/api');
register();
const { main, describeFailure } = await import('../local/cli.ts');
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  console.error(`dropline: ${describeFailure(error)}`);
  process.exitCode = 1;
}
