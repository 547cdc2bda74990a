/**
 * What can keep `tide run` or `tide dev` from starting that the user can fix: a port another
 * process listens on, a history store another process writes to. Those become one-line
 * UserErrors naming the flag; anything else is left as it is (a bug keeps its stack).
 */
import { StoreInUseError } from '../store/embedded-store.ts';
import { UserError } from './command.ts';

const LISTEN_PROBLEMS: Record<string, string> = {
  EADDRINUSE: 'is already in use by another process',
  EACCES: 'needs privileges this process does not have',
  EADDRNOTAVAIL: 'is not an address of this machine',
};

/** `ports` maps each port flag to its value, to say which flag to change. */
export function startupError(err: unknown, ports: Record<string, number>): unknown {
  if (err instanceof StoreInUseError) return new UserError(err.message);
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  const problem = e?.syscall === 'listen' ? LISTEN_PROBLEMS[e.code ?? ''] : undefined;
  if (!problem) return err;
  const flag = Object.entries(ports).find(([, port]) => port !== 0 && port === e.port)?.[0];
  return new UserError(`${flag ? `${flag} ${e.port}: ` : ''}${e.address}:${e.port} ${problem}`);
}
