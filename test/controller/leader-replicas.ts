/** `tide run` replicas as real processes, for the leader election tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './harness.ts';

export interface Replica {
  child: ChildProcess;
  /** Every line it logged, with the wall time the test received it. */
  lines: { text: string; atMs: number }[];
  /** When the first line containing `text` (at or after `sinceMs`) arrived, if one has. */
  saidAt(text: string, sinceMs?: number): number | undefined;
  exited: Promise<number | null>;
}

export function startReplica(identity: string, kubeconfig: string, dir: string, timings: { lease: string; renewDeadline: string; retryPeriod: string }): Replica {
  const child = spawn(process.execPath, [
    join(ROOT, 'bin/tide.js'), 'run', '--simulate', 'paper-consolidation', '--kubeconfig', kubeconfig,
    '--identity', identity, '--lease-duration', timings.lease, '--renew-deadline', timings.renewDeadline, '--retry-period', timings.retryPeriod,
    '--metrics-port', '0', '--metrics-address', '127.0.0.1', '--data-dir', join(dir, identity), '--log-format', 'json',
  ], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Replica['lines'] = [];
  const collect = (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean).map((text) => ({ text, atMs: Date.now() })));
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, lines, saidAt: (text, sinceMs = 0) => lines.find((l) => l.atMs >= sinceMs && l.text.includes(text))?.atMs, exited };
}
