#!/usr/bin/env node
// Entry point of the `tide` command. Tide is written in TypeScript and run through tsx's loader,
// so `npx tide …` works straight after `npm ci` with no build step to forget. In a compiled copy
// of the tree (scripts/test.sh runs the suite from one, see scripts/compile.sh) the JavaScript
// beside this file is loaded directly: tsx's loader hooks double the cost of loading modules,
// and the tests start many `tide` processes.
import { existsSync } from 'node:fs';

const compiled = new URL('../src/cli/main.js', import.meta.url);
let main;
if (existsSync(compiled)) {
  ({ main } = await import(compiled.href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
