/**
 * Tide's own commands as processes, as a Deployment would run them: `tide run --simulate …` and
 * `tide zigbee-agent`, each with the kubeconfig of its component. Every line they print is kept,
 * so a test can fail on any request the server refused.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './envtest.ts';

export interface TideProcess {
  name: string;
  child: ChildProcess;
  lines: string[];
  /** Whether a line containing `text` has been printed. */
  said(text: string): boolean;
  /** Lines that show the API server refusing a request (403 Forbidden, or 401 for a bad token). */
  refusals(): string[];
  /** The last lines, for a failure message. */
  tail(n?: number): string;
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after 5 s; resolves when it has exited. */
  stop(): Promise<void>;
  kill(): Promise<void>;
}

// client-node's errors carry "HTTP-Code: 403" and the server's Status body, whose message says
// "… is forbidden: User … cannot …" (401: "Unauthorized"). Bare numbers are not matched: log
// lines carry durations in ms.
export const REFUSED = /forbidden|unauthorized|HTTP-Code: 40[13]/i;

function startTide(name: string, args: string[]): TideProcess {
  const child = spawn(process.execPath, [join(ROOT, 'bin/tide.js'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  const collect = (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop()!;
    lines.push(...parts.filter(Boolean));
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const running = () => child.exitCode === null && child.signalCode === null;
  const p: TideProcess = {
    name,
    child,
    lines,
    said: (text) => lines.some((l) => l.includes(text)),
    refusals: () => lines.filter((l) => REFUSED.test(l)),
    tail: (n = 40) => `--- last lines of ${name} ---\n${lines.slice(-n).join('\n')}`,
    exited,
    async stop() {
      if (!running()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (running()) child.kill('SIGKILL');
      await exited;
    },
  };
  return p;
}

export interface OperatorProcessOptions {
  scenario: string;
  speed: number;
  kubeconfig: string;
  identity: string;
  dataDir: string;
  /** Lease timings (default: tide run's own, 15 s / 10 s / 2 s). */
  lease?: { duration: string; renewDeadline: string; retryPeriod: string };
  /** More `tide run` flags (e.g. --observe-interval). */
  flags?: string[];
}

export const DEFAULT_LEASE = { duration: '15s', renewDeadline: '10s', retryPeriod: '2s' };
/**
 * Short enough for a takeover to fit a test, long enough that a leader on a busy 2-core machine
 * (Go builds, kube-apiserver, etcd, kubectl) still renews in time: a 2 s deadline (1 s per
 * request) was missed there, and the leader stepped down and exited.
 */
export const FAST_LEASE = { duration: '5s', renewDeadline: '4s', retryPeriod: '500ms' };

/** `tide run --simulate SCENARIO`: the operator with leader election, on a simulated data centre of its own. */
export function startOperatorProcess(o: OperatorProcessOptions): TideProcess {
  const lease = o.lease ?? DEFAULT_LEASE;
  return startTide(o.identity, [
    'run', '--simulate', o.scenario, '--speed', String(o.speed), '--kubeconfig', o.kubeconfig,
    '--namespace', 'tide-system', '--identity', o.identity,
    '--lease-duration', lease.duration, '--renew-deadline', lease.renewDeadline, '--retry-period', lease.retryPeriod,
    '--metrics-port', '0', '--metrics-address', '127.0.0.1', '--data-dir', join(o.dataDir, o.identity), '--log-format', 'json',
    ...(o.flags ?? []),
  ]);
}

/** `tide zigbee-agent --mqtt URL`: the meter agent reading Zigbee2MQTT. */
export function startAgentProcess(o: { kubeconfig: string; mqttUrl: string }): TideProcess {
  return startTide('zigbee-agent', [
    'zigbee-agent', '--kubeconfig', o.kubeconfig, '--mqtt', o.mqttUrl, '--stale-after', '60s',
    '--metrics-port', '0', '--metrics-address', '127.0.0.1',
  ]);
}

/** Fails naming every refused request of each process. */
export function noRefusals(...processes: TideProcess[]): void {
  for (const p of processes) assert.deepEqual(p.refusals(), [], `${p.name} had requests refused\n${p.tail()}`);
}

/** Runs `body`; when it fails, prints the processes' last lines first. */
export async function withLogsOnFailure(processes: TideProcess[], body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    for (const p of processes) console.error(p.tail());
    throw err;
  }
}
