/** A pseudo-terminal pair from socat: one end plays the XBee coordinator, the other the agent's port. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { requireProgram, startProcess, type Started } from './processes.ts';
import { waitFor } from './wait.ts';

export interface PtyPair {
  /** The end the code under test opens. */
  agentEnd: string;
  /** The end the test writes coordinator bytes to. */
  coordinatorEnd: string;
  socat: Started;
}

export async function startPtyPair(dir: string): Promise<PtyPair> {
  requireProgram('socat', 'socat');
  const agentEnd = join(dir, 'ttyAgent');
  const coordinatorEnd = join(dir, 'ttyCoordinator');
  const socat = startProcess('socat', ['-d', '-d', `pty,raw,echo=0,link=${agentEnd}`, `pty,raw,echo=0,link=${coordinatorEnd}`]);
  await waitFor(`socat ptys (${socat.output()})`, () => existsSync(agentEnd) && existsSync(coordinatorEnd) && socat.output().includes('starting data transfer loop'), 10_000);
  return { agentEnd, coordinatorEnd, socat };
}
