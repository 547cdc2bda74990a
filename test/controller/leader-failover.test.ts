/**
 * Two `tide run` replicas (real processes) against one API server: exactly one leads; when it
 * is killed with SIGKILL (no chance to release the Lease), the other takes over once the lease
 * expires.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { eventually, startWorld } from './harness.ts';
import { startReplica } from './leader-replicas.ts';

const LEASE_SECONDS = 3;
const TIMINGS = { lease: `${LEASE_SECONDS}s`, renewDeadline: '2s', retryPeriod: '500ms' };

test('leader election: one replica of two acts; the other takes over after the leader is killed', async (t) => {
  const world = await startWorld('paper-consolidation');
  const replicas = {
    a: startReplica('replica-a', world.kubeconfigPath, world.dir, TIMINGS),
    b: startReplica('replica-b', world.kubeconfigPath, world.dir, TIMINGS),
  };
  t.after(async () => {
    for (const r of Object.values(replicas)) r.child.kill('SIGKILL');
    await world.stop();
  });
  const leases = world.api.kubeConfig().makeApiClient(CoordinationV1Api);
  const holder = async () => (await leases.readNamespacedLease({ namespace: 'tide-system', name: 'tide-operator' })).spec?.holderIdentity;

  const first = await eventually('a leader', async () => {
    const h = await holder();
    return h && (replicas.a.saidAt(`${h} is the leader`) || replicas.b.saidAt(`${h} is the leader`)) ? h : undefined;
  }, 90_000);
  const [leader, standby] = first === 'replica-a' ? [replicas.a, replicas.b] : [replicas.b, replicas.a];
  const standbyName = first === 'replica-a' ? 'replica-b' : 'replica-a';
  // Give the standby several retry periods to (wrongly) start acting.
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal(standby.saidAt(`${standbyName} is the leader`), undefined, 'the standby does not act while the leader renews');

  const killedAt = Date.now();
  leader.child.kill('SIGKILL');
  await eventually('the standby to take the lease', async () => (await holder()) === standbyName && standby.saidAt(`${standbyName} is the leader`), 30_000);
  const takeoverSeconds = (Date.now() - killedAt) / 1000;
  t.diagnostic(`standby took over ${takeoverSeconds.toFixed(1)} s after the leader was killed (lease ${LEASE_SECONDS} s)`);
  // Lease duration plus a retry period or two, with slack for a busy CI machine.
  assert.ok(takeoverSeconds < LEASE_SECONDS + 6, `took over in ${takeoverSeconds.toFixed(1)} s`);
  const lease = await leases.readNamespacedLease({ namespace: 'tide-system', name: 'tide-operator' });
  assert.equal(lease.spec?.leaseTransitions, 1);
});
