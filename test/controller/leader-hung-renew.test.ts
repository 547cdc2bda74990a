/**
 * The reproduction with real processes: two `tide run` replicas, each reaching the API
 * server through its own proxy; once one leads, its proxy starts holding its Lease requests
 * unanswered. The leader must step down (and exit) by its renew deadline, on a timer, and only
 * then may the standby take over. (Before the fix the hung leader never stepped down.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { eventually, startWorld } from './harness.ts';
import { isLeaseRequest, startStallingProxy, type StallingProxy } from './leader-proxy.ts';
import { startReplica, type Replica } from './leader-replicas.ts';
import { atMost } from '../hypervisor/eventually.ts';

// Timings of leader-failover.test.ts: short, with room for a busy two-core machine.
const TIMINGS = { lease: '3s', renewDeadline: '2s', retryPeriod: '500ms' };
const RENEW_DEADLINE_MS = 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('tide run: a leader whose Lease requests hang stops acting by its renew deadline and exits; the standby takes over after', async (t) => {
  const world = await startWorld('paper-consolidation');
  const replicas: Record<string, { replica: Replica; proxy: StallingProxy }> = {};
  t.after(async () => {
    for (const { replica, proxy } of Object.values(replicas)) {
      replica.child.kill('SIGKILL');
      await proxy.stop();
    }
    await world.stop();
  });
  for (const identity of ['replica-a', 'replica-b']) {
    const proxy = await startStallingProxy(world.api);
    const kubeconfig = join(world.dir, `kubeconfig-${identity}`);
    writeFileSync(kubeconfig, proxy.kubeconfig, { mode: 0o600 });
    replicas[identity] = { replica: startReplica(identity, kubeconfig, world.dir, TIMINGS), proxy };
  }
  for (const [identity, { replica }] of Object.entries(replicas)) {
    await eventually(`${identity} to start`, async () => replica.saidAt(`tide operator ${identity} started`), 90_000);
  }
  const leases = world.api.kubeConfig().makeApiClient(CoordinationV1Api);
  const leaderName = await eventually('a leader', async () => {
    const h = (await leases.readNamespacedLease({ namespace: 'tide-system', name: 'tide-operator' })).spec?.holderIdentity;
    return h && replicas[h]?.replica.saidAt(`${h} is the leader`) ? h : undefined;
  }, 30_000);
  const standbyName = leaderName === 'replica-a' ? 'replica-b' : 'replica-a';
  const leader = replicas[leaderName]!;
  const standby = replicas[standbyName]!.replica;
  await sleep(1000); // the standby sees the leader renew
  assert.equal(leader.replica.saidAt('lost leadership'), undefined, `${leaderName} kept the Lease until the stall`);
  assert.equal(standby.saidAt(`${standbyName} is the leader`), undefined, 'the standby waits while the leader renews');

  const stalledAt = Date.now();
  leader.proxy.stall(isLeaseRequest);
  const standbyLed = await eventually(`${standbyName} to take over`, async () => standby.saidAt(`${standbyName} is the leader`, stalledAt), 30_000);
  const leaderLost = leader.replica.saidAt(`${leaderName} lost leadership`, stalledAt);
  assert.ok(leaderLost !== undefined, `${leaderName} has not stepped down ${Date.now() - stalledAt} ms after its Lease requests hung; both replicas lead`);
  t.diagnostic(`${leaderName} stepped down ${leaderLost - stalledAt} ms after its Lease requests hung (renew deadline ${RENEW_DEADLINE_MS} ms); ${standbyName} took over after ${standbyLed - stalledAt} ms`);
  assert.ok(leaderLost < standbyLed, 'the old leader stopped before the standby started');
  // The deadline counts from the leader's last successful renew, before the stall; margin for a busy machine.
  assert.ok(leaderLost - stalledAt <= RENEW_DEADLINE_MS + 500, `stepped down ${leaderLost - stalledAt} ms after the stall`);
  const code = await atMost(leader.replica.exited, 10_000, 'still running');
  assert.equal(code, 1, 'a replica that lost the Lease exits to be restarted clean');
});
