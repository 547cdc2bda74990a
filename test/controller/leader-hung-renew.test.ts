/**
 * The reproduction with real processes: two `tide run` replicas on a 1.5 s lease with a
 * 1 s renew deadline; the leader reaches the API server through a proxy that starts holding
 * its Lease requests unanswered. The leader must step down (and exit) by its renew deadline,
 * on a timer, and only then may the standby take over.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, startWorld } from './harness.ts';
import { isLeaseRequest, startStallingProxy } from './leader-proxy.ts';
import { startReplica, type Replica } from './leader-replicas.ts';

const TIMINGS = { lease: '1500ms', renewDeadline: '1s', retryPeriod: '200ms' };
const RENEW_DEADLINE_MS = 1000;

test('tide run: a leader whose Lease requests hang stops acting by its renew deadline and exits; the standby takes over after', async (t) => {
  const world = await startWorld('paper-consolidation');
  const proxy = await startStallingProxy(world.api);
  const viaProxy = join(world.dir, 'kubeconfig-via-proxy');
  writeFileSync(viaProxy, proxy.kubeconfig, { mode: 0o600 });
  const a = startReplica('replica-a', viaProxy, world.dir, TIMINGS);
  let b: Replica | undefined;
  t.after(async () => {
    a.child.kill('SIGKILL');
    b?.child.kill('SIGKILL');
    await proxy.stop();
    await world.stop();
  });
  await eventually('replica-a to lead', async () => a.saidAt('replica-a is the leader'), 90_000);
  b = startReplica('replica-b', world.kubeconfigPath, world.dir, TIMINGS);
  const standby = b;
  await eventually('replica-b to stand by', async () => standby.saidAt('tide operator replica-b started'), 90_000);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(standby.saidAt('replica-b is the leader'), undefined, 'the standby waits while the leader renews');

  const stalledAt = Date.now();
  proxy.stall(isLeaseRequest);
  const bLed = await eventually('replica-b to take over', async () => standby.saidAt('replica-b is the leader'), 30_000);
  const aLost = a.saidAt('replica-a lost leadership');
  assert.ok(aLost !== undefined, `replica-a has not stepped down ${Date.now() - stalledAt} ms after its Lease requests hung; both replicas lead`);
  t.diagnostic(`replica-a stepped down ${aLost - stalledAt} ms after its Lease requests hung (renew deadline ${RENEW_DEADLINE_MS} ms); replica-b took over after ${bLed - stalledAt} ms`);
  assert.ok(aLost < bLed, 'replica-a stopped before replica-b started');
  // The deadline counts from replica-a's last successful renew, before the stall; margin for a busy machine.
  assert.ok(aLost - stalledAt <= RENEW_DEADLINE_MS + 500, `stepped down ${aLost - stalledAt} ms after the stall`);
  const code = await Promise.race([a.exited, new Promise((r) => setTimeout(() => r('still running'), 10_000))]);
  assert.equal(code, 1, 'a replica that lost the Lease exits to be restarted clean');
});
