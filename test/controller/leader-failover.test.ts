/**
 * Two `tide run` replicas (real processes) against one API server: exactly one leads; when it
 * is killed with SIGKILL (no chance to release the Lease), the other takes over once the lease
 * expires.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { eventually, ROOT, startWorld } from './harness.ts';

const LEASE_SECONDS = 3;

function replica(identity: string, kubeconfig: string, dir: string): { child: ChildProcess; lines: string[] } {
  const child = spawn(process.execPath, [
    join(ROOT, 'bin/tide.js'), 'run', '--simulate', 'paper-consolidation', '--kubeconfig', kubeconfig,
    '--identity', identity, '--lease-duration', `${LEASE_SECONDS}s`, '--renew-deadline', '2s', '--retry-period', '500ms',
    '--metrics-port', '0', '--metrics-address', '127.0.0.1', '--data-dir', join(dir, identity), '--log-format', 'json',
  ], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const collect = (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean));
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  return { child, lines };
}

const led = (lines: string[], identity: string) => lines.some((l) => l.includes(`${identity} is the leader`));

test('leader election: one replica of two acts; the other takes over after the leader is killed', async (t) => {
  const world = await startWorld('paper-consolidation');
  const replicas = { a: replica('replica-a', world.kubeconfigPath, world.dir), b: replica('replica-b', world.kubeconfigPath, world.dir) };
  t.after(async () => {
    for (const r of Object.values(replicas)) r.child.kill('SIGKILL');
    await world.stop();
  });
  const leases = world.api.kubeConfig().makeApiClient(CoordinationV1Api);
  const holder = async () => (await leases.readNamespacedLease({ namespace: 'tide-system', name: 'tide-operator' })).spec?.holderIdentity;

  const first = await eventually('a leader', async () => {
    const h = await holder();
    return h && (led(replicas.a.lines, h) || led(replicas.b.lines, h)) ? h : undefined;
  }, 90_000);
  const [leader, standby] = first === 'replica-a' ? [replicas.a, replicas.b] : [replicas.b, replicas.a];
  const standbyName = first === 'replica-a' ? 'replica-b' : 'replica-a';
  // Give the standby several retry periods to (wrongly) start acting.
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal(led(standby.lines, standbyName), false, 'the standby does not act while the leader renews');

  const killedAt = Date.now();
  leader.child.kill('SIGKILL');
  await eventually('the standby to take the lease', async () => (await holder()) === standbyName && led(standby.lines, standbyName), 30_000);
  const takeoverSeconds = (Date.now() - killedAt) / 1000;
  t.diagnostic(`standby took over ${takeoverSeconds.toFixed(1)} s after the leader was killed (lease ${LEASE_SECONDS} s)`);
  // Lease duration plus a retry period or two, with slack for a busy CI machine.
  assert.ok(takeoverSeconds < LEASE_SECONDS + 6, `took over in ${takeoverSeconds.toFixed(1)} s`);
  const lease = await leases.readNamespacedLease({ namespace: 'tide-system', name: 'tide-operator' });
  assert.equal(lease.spec?.leaseTransitions, 1);
});
