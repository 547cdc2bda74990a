/**
 * The Lease elector against the embedded API server, with a stalling proxy in front of it for
 * the replica whose requests must hang: a hung renew, a fencing check, and expiry measured by
 * when a replica saw the Lease change on its own clock rather than by the holder's timestamps.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { LeaderElector, type LeaderElectionOptions } from '../../src/controller/leader-election.ts';
import { startApiServer, type ApiServer } from '../../src/kube/apiserver/index.ts';
import { eventually } from './harness.ts';
import { isLeaseRequest, startStallingProxy } from './leader-proxy.ts';
import { atMost } from '../hypervisor/eventually.ts';

const NAMESPACE = 'kube-system';
const NAME = 'tide-operator';
/** The timings of the reproduction: a renew deadline of 1 s on a 1.5 s lease. */
const FAST = { leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 200 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Transition {
  identity: string;
  leading: boolean;
  atMs: number;
}

async function startApi(t: TestContext): Promise<ApiServer> {
  const api = await startApiServer();
  t.after(() => api.stop());
  return api;
}

function elector(t: TestContext, kubeConfig: KubeConfig, identity: string, transitions: Transition[], timings: Partial<LeaderElectionOptions> = FAST): LeaderElector {
  const e = new LeaderElector(kubeConfig, { namespace: NAMESPACE, name: NAME, identity, ...timings }, {
    onStartedLeading: () => transitions.push({ identity, leading: true, atMs: Date.now() }),
    onStoppedLeading: () => transitions.push({ identity, leading: false, atMs: Date.now() }),
  });
  t.after(() => atMost(e.stop(), 2000));
  return e;
}

function leases(api: ApiServer): CoordinationV1Api {
  return api.kubeConfig().makeApiClient(CoordinationV1Api);
}

function record(holder: string, renewTimeMs: number, leaseDurationSeconds: number): V1Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: NAME, namespace: NAMESPACE },
    spec: { holderIdentity: holder, leaseDurationSeconds, acquireTime: new V1MicroTime(renewTimeMs), renewTime: new V1MicroTime(renewTimeMs), leaseTransitions: 0 },
  };
}

test('a leader whose Lease requests hang steps down by its renew deadline, on a timer, before a standby takes over', async (t) => {
  const api = await startApi(t);
  const proxy = await startStallingProxy(api);
  t.after(() => proxy.stop());
  const transitions: Transition[] = [];
  const a = elector(t, proxy.kubeConfig(), 'replica-a', transitions);
  const b = elector(t, api.kubeConfig(), 'replica-b', transitions);
  a.start();
  await eventually('replica-a to lead', async () => a.isLeader, 10_000);
  b.start();
  await sleep(600); // the standby sees the leader renew
  assert.deepEqual(transitions.map((x) => `${x.identity} ${x.leading}`), ['replica-a true'], 'replica-a leads, alone, until the stall');

  const stalledAt = Date.now();
  proxy.stall(isLeaseRequest);
  await eventually('replica-b to take over', async () => b.isLeader, 15_000);
  const aStopped = transitions.find((x) => x.identity === 'replica-a' && !x.leading)?.atMs;
  const bStarted = transitions.find((x) => x.identity === 'replica-b' && x.leading)!.atMs;
  assert.ok(aStopped !== undefined, `replica-a still reports leader ${Date.now() - stalledAt} ms after its Lease requests hung; replica-b leads too`);
  t.diagnostic(`replica-a stepped down ${aStopped - stalledAt} ms after its requests hung (renew deadline ${FAST.renewDeadlineMs} ms); replica-b took over ${bStarted - stalledAt} ms after`);
  // Its last successful renew started before the stall, so the deadline passed at most
  // renewDeadline after it; the margin is for timers on a busy machine.
  assert.ok(aStopped - stalledAt <= FAST.renewDeadlineMs + 300, `stepped down ${aStopped - stalledAt} ms after the stall`);
  assert.ok(aStopped < bStarted, 'never two leaders at once');
});

test('every Lease request has a timeout shorter than the renew deadline', async (t) => {
  const api = await startApi(t);
  const proxy = await startStallingProxy(api);
  t.after(() => proxy.stop());
  const a = elector(t, proxy.kubeConfig(), 'replica-a', [], { leaseDurationMs: 15_000, renewDeadlineMs: 1000, retryPeriodMs: 200 });
  a.start();
  await eventually('replica-a to lead', async () => a.isLeader, 10_000);
  proxy.stall(isLeaseRequest);
  await sleep(2500);
  assert.ok(proxy.stalled.length > 0, 'a Lease request was stalled');
  // Every request held for a whole renew deadline must have been given up by now.
  const now = Date.now();
  for (const r of proxy.stalled.filter((x) => x.stalledAtMs <= now - 1000)) {
    assert.ok(r.abandonedAtMs !== undefined, `${r.method} ${r.path} still waits after ${Date.now() - r.stalledAtMs} ms`);
    assert.ok(r.abandonedAtMs - r.stalledAtMs < 1000, `${r.method} ${r.path} given up after ${r.abandonedAtMs - r.stalledAtMs} ms`);
  }
  // Stalled renews keep failing, yet the elector keeps trying rather than hanging on one.
  assert.ok(proxy.stalled.length >= 2, `${proxy.stalled.length} Lease request(s) in 2.5 s`);
});

test('assertLeading: passes for the holder of the Lease it last wrote; rejects once anyone else wrote it, or when it cannot be read in time', async (t) => {
  const api = await startApi(t);
  const proxy = await startStallingProxy(api);
  t.after(() => proxy.stop());
  // A long retry period: the elector's own renew must not notice the change before the fence does.
  const slow = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 5_000 };
  const a = elector(t, proxy.kubeConfig(), 'replica-a', [], slow);
  await assert.rejects(a.assertLeading(), /not the leader/, 'not leading before it started');
  a.start();
  await eventually('replica-a to lead', async () => a.isLeader, 10_000);
  await a.assertLeading();

  const api2 = leases(api);
  // Same holder, but another writer touched the Lease: the fencing token (resourceVersion) moved.
  const touched = await api2.readNamespacedLease({ namespace: NAMESPACE, name: NAME });
  touched.metadata!.labels = { touched: 'yes' };
  await api2.replaceNamespacedLease({ namespace: NAMESPACE, name: NAME, body: touched });
  await assert.rejects(a.assertLeading(), /resourceVersion/);

  // Another replica took the Lease.
  const taken = await api2.readNamespacedLease({ namespace: NAMESPACE, name: NAME });
  taken.spec!.holderIdentity = 'replica-z';
  await api2.replaceNamespacedLease({ namespace: NAMESPACE, name: NAME, body: taken });
  await assert.rejects(a.assertLeading(), /replica-z/);
});

test('assertLeading rejects within the request timeout when the Lease cannot be read', async (t) => {
  const api = await startApi(t);
  const proxy = await startStallingProxy(api);
  t.after(() => proxy.stop());
  const a = elector(t, proxy.kubeConfig(), 'replica-a', [], { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 5_000 });
  a.start();
  await eventually('replica-a to lead', async () => a.isLeader, 10_000);
  proxy.stall(isLeaseRequest);
  const started = Date.now();
  const outcome = await atMost(a.assertLeading().then(() => 'passed', (err: Error) => err.message), 8000, 'still waiting');
  const elapsed = Date.now() - started;
  t.diagnostic(`assertLeading answered after ${elapsed} ms: ${outcome}`);
  assert.notEqual(outcome, 'passed');
  assert.notEqual(outcome, 'still waiting', 'a fencing check that hangs would hold an action back for ever');
  // The default request timeout is half the renew deadline (5 s here); the margin is for a busy machine.
  assert.ok(elapsed < 5000 + 1000, `answered after ${elapsed} ms`);
});

test('expiry is measured from when this replica saw the Lease change: a live holder whose clock runs 10 minutes behind keeps it', async (t) => {
  const api = await startApi(t);
  const direct = leases(api);
  // The holder's clock is 10 min behind ours: its renewTime always looks long expired here.
  const skewMs = -10 * 60_000;
  await direct.createNamespacedLease({ namespace: NAMESPACE, body: record('replica-skewed', Date.now() + skewMs, 2) });
  let renewing = true;
  const renewer = (async () => {
    while (renewing) {
      await sleep(300);
      const lease = await direct.readNamespacedLease({ namespace: NAMESPACE, name: NAME });
      if (lease.spec?.holderIdentity !== 'replica-skewed') return;
      lease.spec.renewTime = new V1MicroTime(Date.now() + skewMs);
      await direct.replaceNamespacedLease({ namespace: NAMESPACE, name: NAME, body: lease }).catch(() => {});
    }
  })();
  const transitions: Transition[] = [];
  const b = elector(t, api.kubeConfig(), 'replica-b', transitions, { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 200 });
  b.start();
  await sleep(4000); // twice the lease duration, while the holder renews
  assert.equal(b.isLeader, false, 'replica-b took a Lease its holder still renews (it compared the holder\'s timestamps with its own clock)');

  renewing = false;
  await renewer;
  const stoppedAt = Date.now();
  await eventually('replica-b to take the abandoned Lease', async () => b.isLeader, 10_000);
  const after = transitions.find((x) => x.leading)!.atMs - stoppedAt;
  t.diagnostic(`replica-b took over ${after} ms after the holder stopped renewing (lease 2 s)`);
  assert.ok(after >= 1500, `took over after ${after} ms, before a lease duration since the last change it saw`);
});

test('expiry is measured from when this replica saw the Lease change: a dead holder whose clock ran 10 minutes ahead is replaced after one lease duration', async (t) => {
  const api = await startApi(t);
  // A renewTime 10 min in our future: by the holder's timestamp the lease is valid for 10 min more.
  await leases(api).createNamespacedLease({ namespace: NAMESPACE, body: record('replica-dead', Date.now() + 10 * 60_000, 2) });
  const transitions: Transition[] = [];
  const b = elector(t, api.kubeConfig(), 'replica-b', transitions, { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 200 });
  const started = Date.now();
  b.start();
  await eventually('replica-b to take the Lease nobody renews', async () => b.isLeader, 8000);
  const after = transitions.find((x) => x.leading)!.atMs - started;
  t.diagnostic(`replica-b took over ${after} ms after it first saw the Lease (lease 2 s)`);
  assert.ok(after >= 1900, `took over after ${after} ms: a Lease must be watched unchanged for its whole duration first`);
});
