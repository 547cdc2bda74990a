import { readFileSync } from 'node:fs';
import type { CliCommand } from '../command.ts';

export const command: CliCommand = {
  name: 'version',
  summary: 'print the Tide version',
  async run() {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    console.log(`tide ${pkg.version}`);
    return 0;
  },
};
