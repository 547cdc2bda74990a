/**
 * The operator under leader election, through the embedded API server and the simulator: a
 * replica that stops leading aborts its running round, checks the Lease right before each
 * migration and power command, and on stop() gives the Lease up only once its round is over.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoordinationV1Api } from '@kubernetes/client-node';
import type { HypervisorDriver, MigrationOutcome, MigrationRequest, PowerDriver } from '../../src/api/drivers.ts';
import { KubeClusterWriter } from '../../src/controller/cluster.ts';
import type { LeaderElectionOptions } from '../../src/controller/leader-election.ts';
import { silentLogger } from '../../src/controller/log.ts';
import { Operator } from '../../src/controller/operator.ts';
import { plan } from '../../src/planner/plan.ts';
import { SimHypervisorDriver, SimPowerDriver } from '../../src/sim/drivers.ts';
import { eventually, resourcesOf, startWorld, type World } from './harness.ts';
import { atMost } from '../hypervisor/eventually.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LEASE = { namespace: 'tide-system', name: 'tide-operator' };

function election(identity: string, timings: Partial<LeaderElectionOptions> = {}): LeaderElectionOptions {
  return { ...LEASE, identity, leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 200, ...timings };
}

/** Renews far apart, so that what a test looks at is not a renew that happens to fall in between. */
const SLOW_RENEWS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 5000 };

/** Commands the drivers were given, in order, with the wall time each started. */
interface Command {
  what: string;
  atMs: number;
}

/**
 * The simulator's drivers, except that the first migration is held until `releaseFirst()` or
 * until its signal aborts (as a real driver aborts `virsh migrate`). `onHeld` runs while it
 * is held and aborted or released, before it returns: the moment to look at the Lease.
 */
function heldDrivers(world: World, onHeld: (how: 'aborted' | 'released') => Promise<void> = async () => {}) {
  const inner = new SimHypervisorDriver(world.clock);
  const innerPower = new SimPowerDriver(world.clock);
  const commands: Command[] = [];
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let held = 0;
  const hypervisor: HypervisorDriver = {
    observeHost: (host) => inner.observeHost(host),
    close: () => inner.close(),
    async migrate(request: MigrationRequest): Promise<MigrationOutcome> {
      commands.push({ what: `migrate ${request.domain}`, atMs: Date.now() });
      if (held++ > 0) return inner.migrate(request);
      const how = await new Promise<'aborted' | 'released'>((resolve) => {
        void released.then(() => resolve('released'));
        if (request.signal?.aborted) resolve('aborted');
        request.signal?.addEventListener('abort', () => resolve('aborted'), { once: true });
      });
      await onHeld(how);
      if (how === 'aborted') return { domain: request.domain, runningOn: request.from.name, succeeded: false, durationMs: 0, error: 'aborted' };
      return inner.migrate(request);
    },
  };
  const power: PowerDriver = {
    powerOn: (host, signal) => (commands.push({ what: `power on ${host.name}`, atMs: Date.now() }), innerPower.powerOn(host, signal)),
    powerOff: (host, signal) => (commands.push({ what: `power off ${host.name}`, atMs: Date.now() }), innerPower.powerOff(host, signal)),
  };
  return { hypervisor, power, commands, releaseFirst: release };
}

async function holder(world: World): Promise<string | undefined> {
  const lease = await world.api.kubeConfig().makeApiClient(CoordinationV1Api).readNamespacedLease(LEASE);
  return lease.spec?.holderIdentity ?? undefined;
}

/** Another replica takes the Lease, as a new leader would once it believed this one gone. */
async function takeLease(world: World, identity: string): Promise<void> {
  const api = world.api.kubeConfig().makeApiClient(CoordinationV1Api);
  // The holder renews meanwhile: a renewal between the read and the write is a 409, and the
  // contender reads again, as a real one would.
  for (let attempt = 1; ; attempt++) {
    const lease = await api.readNamespacedLease(LEASE);
    lease.spec!.holderIdentity = identity;
    try {
      await api.replaceNamespacedLease({ ...LEASE, body: lease });
      return;
    } catch (err) {
      if ((err as { code?: number }).code !== 409 || attempt === 10) throw err;
    }
  }
}

test('stop() gives the Lease up only after the running round has stopped', async (t) => {
  const world = await startWorld('paper-consolidation');
  t.after(() => world.stop());
  const holders: string[] = [];
  const drivers = heldDrivers(world, async () => void holders.push((await holder(world)) ?? '(nobody)'));
  const operator = await world.startOperator({ ...drivers, leaderElection: election('replica-a', SLOW_RENEWS) });
  await eventually('replica-a to lead', async () => operator.isActing, 20_000);
  await world.applyObjects(resourcesOf(world.scenario));
  await eventually('a migration to start', async () => drivers.commands.length > 0);

  const stopping = operator.stop();
  // A driver that cannot be aborted is released later; the Lease must wait for it too.
  await sleep(1000);
  drivers.releaseFirst();
  await stopping;
  assert.deepEqual(holders, ['replica-a'], 'while its migration still ran, replica-a held the Lease (no second leader could act)');
  assert.equal(await holder(world), undefined, 'released once the round stopped');
});

test('a replica that stops leading aborts its running round', async (t) => {
  const world = await startWorld('paper-consolidation');
  t.after(() => world.stop());
  const drivers = heldDrivers(world);
  const kubeConfig = world.api.kubeConfig();
  const operator = new Operator({
    kubeConfig, clock: world.clock, ...drivers, writer: new KubeClusterWriter(kubeConfig, 'replica-a'),
    planner: plan, log: silentLogger, observeIntervalMs: 30_000, leaderElection: election('replica-a'),
  });
  t.after(() => atMost(operator.stop(), 2000));
  // The signal each plan round is given: the executor stops starting actions once it aborts.
  const signals: (AbortSignal | undefined)[] = [];
  const planRound = operator.reconciler.planRound.bind(operator.reconciler);
  operator.reconciler.planRound = ((signal?: AbortSignal) => (signals.push(signal), planRound(signal))) as typeof operator.reconciler.planRound;
  await operator.start();
  await eventually('replica-a to act', async () => operator.isActing, 20_000);
  await world.applyObjects(resourcesOf(world.scenario));
  await eventually('a migration to start', async () => drivers.commands.length > 0);

  const takenAt = Date.now();
  await takeLease(world, 'replica-z');
  await eventually('replica-a to stop acting', async () => !operator.isActing, 5000);
  t.diagnostic(`replica-a stopped acting ${Date.now() - takenAt} ms after the Lease was taken`);
  const running = signals.at(-1);
  assert.ok(running, 'the running plan round was given an abort signal');
  assert.equal(running.aborted, true, 'and it is aborted');
  drivers.releaseFirst();
});

test('a deposed leader starts no migration or power command once another replica holds the Lease (fencing)', async (t) => {
  const world = await startWorld('paper-consolidation');
  t.after(() => world.stop());
  const drivers = heldDrivers(world);
  // Only the check before each command can notice the new holder in time.
  const operator = await world.startOperator({ ...drivers, leaderElection: election('replica-a', SLOW_RENEWS) });
  await eventually('replica-a to lead', async () => operator.isActing, 20_000);
  await world.applyObjects(resourcesOf(world.scenario));
  await eventually('a migration to start', async () => drivers.commands.length > 0);

  const takenAt = Date.now();
  await takeLease(world, 'replica-z');
  drivers.releaseFirst();
  // The rest of the plan (three migrations and a power-off, sequential) would start within this.
  await sleep(4000);
  const late = drivers.commands.filter((c) => c.atMs >= takenAt);
  assert.deepEqual(late.map((c) => c.what), [], 'commands started after replica-z took the Lease');
});
