/**
 * Runs `tide ARGS` through the CLI's main() in this process, capturing what it prints, for tests
 * of the CLI's own output. `tideWritingStdout` also captures direct writes to process.stdout (as
 * `tide report` makes) — only for a moment when nothing else writes there: the test runner
 * reports through the same stream.
 */
import { main } from '../../src/cli/main.ts';

export const tideInProcess = (...args: string[]) => run(args, false);
export const tideWritingStdout = (...args: string[]) => run(args, true);

async function run(args: string[], captureWrites: boolean): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  const write = process.stdout.write;
  console.log = (...parts: unknown[]) => void out.push(parts.join(' ') + '\n');
  console.error = (...parts: unknown[]) => void err.push(parts.join(' ') + '\n');
  if (captureWrites) process.stdout.write = ((chunk: string) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
  try {
    const code = await main(args);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    Object.assign(console, { log, error });
    process.stdout.write = write;
  }
}
