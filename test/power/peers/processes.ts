/** Starting the real programs the power tests talk to, and stopping them by their own pid. */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';

export interface Started {
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

/** Fails with a clear message when a program a test needs is not installed. */
export function requireProgram(program: string, debianPackage: string): void {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', program], { stdio: 'pipe' });
  } catch {
    throw new Error(`${program} is not installed: install the Debian package ${debianPackage} (see scripts/system-deps/power.txt)`);
  }
}

export function startProcess(command: string, args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Started {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}
