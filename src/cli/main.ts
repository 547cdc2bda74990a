/**
 * `tide <command> [flags]`. Each command lives in its own file under ./commands, named after
 * the command, and exports a `command: CliCommand`; adding a command is adding a file. Only the
 * command that runs is loaded (some pull in heavy clients), except for the usage listing.
 */
import { readdirSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CliCommand } from './command.ts';
import { UserError } from './command.ts';

const commandsDir = join(dirname(fileURLToPath(import.meta.url)), 'commands');
// '.ts' run through tsx; '.js' in the compiled copy of the tree the test suite runs (scripts/compile.sh).
const ext = extname(fileURLToPath(import.meta.url));

function commandNames(): string[] {
  return readdirSync(commandsDir)
    .filter((f) => f.endsWith(ext))
    .map((f) => f.slice(0, -ext.length))
    .sort();
}

async function loadCommand(name: string): Promise<CliCommand> {
  const mod = (await import(pathToFileURL(join(commandsDir, `${name}${ext}`)).href)) as { command: CliCommand };
  return mod.command;
}

async function loadCommands(): Promise<Map<string, CliCommand>> {
  const commands = new Map<string, CliCommand>();
  for (const name of commandNames()) commands.set(name, await loadCommand(name));
  return commands;
}

function usage(commands: Map<string, CliCommand>): string {
  const width = Math.max(...[...commands.keys()].map((n) => n.length));
  const lines = [...commands.values()].map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `usage: tide <command> [flags]\n\ncommands:\n${lines.join('\n')}\n\n` +
    `Run 'tide <command> --help' for a command's flags; 'tide --version' prints the version.`;
}

export async function main(argv: string[]): Promise<number> {
  // `tide report | head` closes stdout early: that is the reader's choice, not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const [given, ...rest] = argv;
  // `tide --version` as most CLIs spell it, the same as `tide version`.
  const name = given === '--version' || given === '-v' ? 'version' : given;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage(await loadCommands()));
    return name ? 0 : 2;
  }
  if (!commandNames().includes(name)) {
    console.error(`tide: unknown command '${name}'\n\n${usage(await loadCommands())}`);
    return 2;
  }
  const command = await loadCommand(name);
  try {
    return await command.run(rest);
  } catch (err) {
    // Errors users can act on are printed as one clear line; anything else is a bug and keeps its stack.
    if (err instanceof UserError) {
      console.error(`tide ${name}: ${err.message}`);
      return 2;
    }
    // node's parseArgs: an unknown flag or a missing value is the user's to fix, not a crash.
    if (String((err as NodeJS.ErrnoException)?.code).startsWith('ERR_PARSE_ARGS')) {
      console.error(`tide ${name}: ${(err as Error).message} (see 'tide ${name} --help')`);
      return 2;
    }
    throw err;
  }
}
