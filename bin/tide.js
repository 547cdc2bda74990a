#!/usr/bin/env node
// Entry point of the `tide` command. Tide is written in TypeScript and run through tsx's loader,
// so `npx tide …` works straight after `npm ci` with no build step to forget.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
