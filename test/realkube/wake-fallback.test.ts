/**
 * Issue 15 part 4, hosts that wake, through the operator on both server tiers (in-process, on
 * the simulated data centre, whose power driver loses the wakes a test asks it to):
 *
 * 1. a lost Wake-on-LAN falls back to IPMI, and both attempts are in status.wakeAttempts;
 * 2. with no fallback, the host is left off and another standby host is woken instead;
 * 3. after 3 failed wakes in a row the host gets WakeFailing, is no longer put in standby (on by
 *    hand and empty, it stays on), and a wake that succeeds clears it.
 *
 * Four VMs of one vCPU on a 4-core host at 95 % put the only active host over Th1 (80 %); at
 * 5 % the hosts are nearly idle and an empty host is one to power off.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { WakeMethod } from '../../src/api/drivers.ts';
import type { PhysicalHost } from '../../src/api/types.ts';
import { scenarioResources } from '../../src/cli/dev/scenario-resources.ts';
import { KubeClusterWriter } from '../../src/controller/cluster.ts';
import { silentLogger } from '../../src/controller/log.ts';
import { metricsObserver } from '../../src/controller/observers.ts';
import { Operator } from '../../src/controller/operator.ts';
import { TideMetrics } from '../../src/metrics/tide-metrics.ts';
import { buildSnapshot } from '../../src/controller/snapshot.ts';
import { plannerPolicy } from '../../src/controller/policy.ts';
import { plan } from '../../src/planner/plan.ts';
import { SimClock } from '../../src/sim/clock.ts';
import { SimHypervisorDriver, SimPowerDriver } from '../../src/sim/drivers.ts';
import { createDataCentre } from '../../src/sim/run.ts';
import { loadScenario } from '../../src/sim/scenario.ts';
import { forEachInstalledTier, NAMESPACE, type TideCluster } from './clusters.ts';
import { condition, eventually, events, reasonOnceSent } from './paper-hosts.ts';
import { atMost } from '../hypervisor/eventually.ts';

const SPEED = 60;

interface WakeWorld {
  clock: SimClock;
  /** The VMs' load, % of their vCPU: change it and the simulated hosts follow within a second. */
  setLoad(percent: number): void;
  host(name: string): Promise<any>;
  metrics: TideMetrics;
}

/** node1 on (never put in standby) with the four VMs; `off` hosts in standby; power specs as `power` says. */
async function startWakeWorld(
  c: TideCluster,
  t: { after(fn: () => Promise<void>): void },
  o: { off: string[]; lostWake: (host: string, method: WakeMethod | undefined) => boolean; power?: Record<string, object> },
): Promise<WakeWorld> {
  const names = ['node1', ...o.off];
  const file = join(c.dir, 'wake-scenario.yaml');
  writeFileSync(file, stringify({
    name: 'wake', durationSeconds: 864000,
    evaluation: { firstAtSeconds: 0, intervalSeconds: 60 },
    policy: { strategy: 'paper', overloadThresholdPercent: 80, consolidationThresholdPercent: 80, balanceThresholdPercent: 50, minHostsOn: 1, powerCooldownSeconds: 0, migrationCooldownSeconds: 0 },
    hosts: names.map((name) => ({ name, cpuCores: 4, memoryMiB: 16384, power: { idleWatts: 60, peakWatts: 120 }, bootSeconds: 10, shutdownSeconds: 10, ...(o.off.includes(name) ? { powerState: 'off' } : { standbyAllowed: false }) })),
    vms: [1, 2, 3, 4].map((i) => ({ name: `vm-${i}`, host: 'node1', vcpus: 1, memoryMiB: 1024, load: 95 })),
  }));
  const scenario = loadScenario(file);
  let level = 95;
  // A load that may change every simulated second: the data centre reads it again each second.
  for (const vm of scenario.vms) (vm as { load: unknown }).load = { at: () => level, nextChange: (s: number) => Math.floor(s) + 1 };
  const clock = new SimClock(createDataCentre(scenario));
  const stopClock = clock.runRealtime(SPEED);
  const kc = new KubeConfig();
  kc.loadFromFile(c.credentials.operator);
  const metrics = new TideMetrics({ processMetrics: false });
  const operator = new Operator({
    kubeConfig: kc, clock, log: silentLogger, planner: plan, observeIntervalMs: 30_000, overloadCooldownMs: 0, observer: metricsObserver(metrics),
    hypervisor: new SimHypervisorDriver(clock), power: new SimPowerDriver(clock, { lostWake: o.lostWake }), writer: new KubeClusterWriter(kc, 'wake-test'),
  });
  t.after(async () => {
    await atMost(operator.stop(), 5000);
    stopClock();
  });
  const { hosts, placements, policy } = scenarioResources(scenario, 'default');
  for (const h of hosts) {
    const power = { ...h.spec.power!, bootTimeoutSeconds: 30, ...(o.power?.[h.metadata.name] ?? {}) };
    h.spec = { ...h.spec, power };
    delete (h.spec as { meter?: unknown }).meter;
  }
  await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'bmc', namespace: NAMESPACE }, stringData: { username: 'admin', password: 'simulated' } }));
  const objects = join(c.dir, 'wake-objects.yaml');
  writeFileSync(objects, [...hosts, ...placements, policy].map((x) => stringify(x)).join('---\n'));
  await operator.start();
  await c.kubectlOk(['apply', '-f', objects]);
  return { clock, metrics, setLoad: (p) => (level = p), host: (name) => c.getJson('physicalhost', name) };
}

const IPMI = { fallbackOnMethods: ['IPMI'], ipmi: { address: '192.0.2.10', secretRef: { name: 'bmc' } } };
const attempts = (h: any) => (h.status?.wakeAttempts ?? []).map((a: any) => `${a.method}:${a.outcome}`);

forEachInstalledTier((cluster) => {
  test('a lost Wake-on-LAN falls back to IPMI: the host comes, with both attempts on record', async (t) => {
    const c = await cluster();
    const w = await startWakeWorld(c, t, { off: ['node2'], lostWake: (_h, method) => method === 'WakeOnLAN', power: { node2: IPMI } });
    const on = await eventually('node2 woken', async () => {
      const h = await w.host('node2');
      return h.status?.powerAction?.type === 'PowerOn' && h.status.powerAction.phase !== 'Running' && h;
    });
    assert.equal(on.status.powerAction.phase, 'Succeeded', JSON.stringify(on.status.powerAction));
    assert.equal(on.status.powerAction.reason, 'Overloaded');
    assert.deepEqual(attempts(on), ['WakeOnLAN:Failed', 'IPMI:Succeeded']);
    const [wol, ipmi] = on.status.wakeAttempts;
    assert.ok(wol.latencySeconds >= 30, `the Wake-on-LAN attempt ran to the boot timeout (${wol.latencySeconds} s)`);
    assert.match(wol.message, /not observed up within 30 s/);
    assert.ok(ipmi.latencySeconds >= 10 && ipmi.latencySeconds < 30, `IPMI: the 10 s boot (${ipmi.latencySeconds} s)`);
    assert.equal(on.status.failedWakesInARow, 0);
    assert.equal(condition(on, 'WakeFailing').status, 'False');
    const fallback = await events(c, 'WakeFallback');
    assert.equal(fallback.length, 1);
    assert.match(fallback[0].message, /Wake-on-LAN did not bring node2 up .*; falling back to IPMI/);
    await eventually('node2 On', async () => (await w.host('node2')).status.powerState === 'On');
    const histogram = await w.metrics.registry.getSingleMetricAsString('tide_wake_latency_seconds');
    assert.match(histogram, /tide_wake_latency_seconds_count\{method="WakeOnLAN",outcome="Failed"\} 1$/m);
    assert.match(histogram, /tide_wake_latency_seconds_count\{method="IPMI",outcome="Succeeded"\} 1$/m);
    assert.match(histogram, /tide_wake_latency_seconds_bucket\{le="20",method="IPMI",outcome="Succeeded"\} 1$/m);
  });

  test('with no fallback, a host whose wake was lost is left off and another standby host is woken instead', async (t) => {
    const c = await cluster();
    const w = await startWakeWorld(c, t, { off: ['node2', 'node3'], lostWake: (host) => host === 'node2' });
    const node3 = await eventually('node3 woken', async () => {
      const h = await w.host('node3');
      return h.status?.powerAction?.type === 'PowerOn' && h.status.powerAction.phase === 'Succeeded' && h;
    });
    assert.equal(node3.status.powerAction.reason, 'Overloaded');
    assert.deepEqual(attempts(node3), ['WakeOnLAN:Succeeded']);
    const node2 = await w.host('node2');
    assert.deepEqual([node2.status.powerAction.type, node2.status.powerAction.phase], ['PowerOn', 'Failed']);
    assert.match(node2.status.powerAction.error, /not observed up within 30 s/);
    assert.deepEqual(attempts(node2), ['WakeOnLAN:Failed']);
    assert.equal(node2.status.failedWakesInARow, 1);
    assert.equal(Date.parse(node2.status.powerAction.startedAt) < Date.parse(node3.status.powerAction.startedAt), true, 'node2 first, node3 after it failed');
    assert.equal(node2.status.powerState, 'Off', 'a wake that did not come leaves the host off');
    assert.equal(w.clock.dc.hosts.get('node2')!.powerState, 'off');
    assert.equal(condition(node2, 'WakeFailing').status, 'False');
    assert.equal((await events(c, 'WakeFallback')).length, 0, 'no fallback declared, none tried');
    // A fallback needs its settings: the API server refuses IPMI without spec.power.ipmi.
    const refused = await c.target.kubectl(['patch', 'ph', 'node2', '--type=merge', '-p', '{"spec":{"power":{"fallbackOnMethods":["IPMI"]}}}']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /ipmi is required when fallbackOnMethods lists IPMI/);
  });

  test('after 3 failed wakes a host is WakeFailing and put in standby no more; a wake that succeeds clears it', async (t) => {
    const c = await cluster();
    // node2's first three wakes are lost; the load falls during the third, so none follows it.
    let lost = 0;
    const w: WakeWorld = await startWakeWorld(c, t, {
      off: ['node2'],
      lostWake: (host) => host === 'node2' && ++lost <= 3 && (lost < 3 || (w.setLoad(5), true)),
    });
    const failing = await eventually('WakeFailing True', async () => {
      const h = await w.host('node2');
      return condition(h, 'WakeFailing')?.status === 'True' && h;
    });
    assert.equal(failing.status.failedWakesInARow, 3);
    assert.deepEqual(attempts(failing), ['WakeOnLAN:Failed', 'WakeOnLAN:Failed', 'WakeOnLAN:Failed']);
    const message: string = condition(failing, 'WakeFailing').message;
    assert.match(message, /^3 wakes in a row failed: Tide puts this host in standby no more until a wake succeeds.*Wake-on-LAN at .* failed after [\d.]+ s \(node2 was not observed up within 30 s/);
    // Each failed once its 30 s boot timeout was up, at the first observation after it (later on a loaded machine).
    for (const [, seconds] of message.matchAll(/failed after ([\d.]+) s/g)) assert.ok(Number(seconds) >= 30, message);
    assert.equal((await reasonOnceSent(c, 'WakeFailing')).length, 1);

    // Off, with no load that needs it: not woken for being kept out of standby (as a host whose
    // standby is not allowed would be). Then the administrator powers it on by hand: an empty
    // host, yet Tide leaves it on.
    const policy = async () => (await c.getJson('consolidationpolicy', 'default')).status?.lastEvaluationTime;
    const rounds = async (n: number) => {
      const seen = await policy();
      await eventually(`${n} more plan rounds`, async () => {
        const now = await policy();
        return now && Date.parse(now) - Date.parse(seen) >= n * 60_000;
      });
    };
    await rounds(2);
    assert.equal(lost, 3, 'no wake after the third');
    assert.equal((await w.host('node2')).status.powerState, 'Off');
    w.clock.dc.powerOn('node2');
    await eventually('node2 observed On', async () => (await w.host('node2')).status.powerState === 'On');
    await rounds(3);
    const kept = await w.host('node2');
    assert.equal(kept.status.powerState, 'On');
    assert.equal(kept.status.powerAction.type, 'PowerOn', 'no power-off was ever recorded for node2');

    // Off by hand again, the load back up: Tide wakes it, the wake works, the condition clears.
    w.clock.dc.powerOff('node2');
    w.setLoad(95);
    const back = await eventually('node2 woken again', async () => {
      const h = await w.host('node2');
      return h.status?.failedWakesInARow === 0 && h;
    });
    assert.deepEqual(attempts(back), ['WakeOnLAN:Failed', 'WakeOnLAN:Failed', 'WakeOnLAN:Failed', 'WakeOnLAN:Succeeded']);
    assert.deepEqual([condition(back, 'WakeFailing').status, condition(back, 'WakeFailing').reason], ['False', 'WakeSucceeded']);
    assert.equal((await reasonOnceSent(c, 'WakeRecovered')).length, 1);
  });
});

// The planner's side, without a server: which standby host is woken, and what WakeFailing keeps.
const T0 = Date.parse('2026-11-29T12:00:00Z');
function hostObject(name: string, status: PhysicalHost['status'] = {}): PhysicalHost {
  return {
    apiVersion: 'tide.dev/v1alpha1', kind: 'PhysicalHost', metadata: { name, generation: 1, uid: `uid-${name}` },
    spec: {
      address: name, capacity: { cpuCores: 4, memoryMiB: 16384 }, standbyAllowed: true, maintenance: false,
      power: { onMethod: 'WakeOnLAN', offMethod: 'SSH', wakeOnLAN: { macAddress: '52:54:00:00:00:01', broadcastAddress: '255.255.255.255', port: 9 }, bootTimeoutSeconds: 600, shutdownTimeoutSeconds: 300 },
    },
    status,
  };
}
const up = (name: string, load: number, domains: string[] = []) => ({
  name, reachable: true, powerState: 'on' as const, observedAtMs: T0, cpuLoadPercent: load,
  domains: domains.map((d) => ({ name: d, state: 'running' as const, vcpus: 1, memoryMiB: 1024, cpuLoadPercent: load * 4 / domains.length })),
});
const down = (name: string) => ({ name, reachable: false, powerState: 'unknown' as const, observedAtMs: T0, domains: [], error: 'no route to host' });
const failedWake = { type: 'PowerOn' as const, phase: 'Failed' as const, id: 'w', reason: 'Overloaded', message: '', startedAt: new Date(T0 - 3_600_000).toISOString() };
const policySpec = {
  strategy: 'paper' as const, overloadThresholdPercent: 80, consolidationThresholdPercent: 80, balanceThresholdPercent: 10, evaluationInterval: '10m',
  evaluateOnOverload: true, minHostsOn: 1, maxConcurrentMigrations: 2, maxMigrationsPerRound: 20, migrationTimeout: '10m', migrationCooldown: '0s', powerCooldown: '0s', timeZone: 'UTC', dryRun: false,
};
function planOf(hosts: PhysicalHost[], observed: ReturnType<typeof up | typeof down>[]) {
  const { snapshot } = buildSnapshot({ nowMs: T0, hosts, placements: [], observed: new Map(observed.map((o) => [o.name, o])) });
  return plan(snapshot, plannerPolicy(policySpec, T0));
}
const powerActions = (p: ReturnType<typeof plan>) => p.actions.filter((a) => a.type === 'power-on' || a.type === 'power-off').map((a) => `${a.type} ${'host' in a ? a.host : ''}`);

test('planner: a host whose last wake failed is woken only after the other standby hosts, and still when it is the only one', () => {
  const busy = up('a', 95, ['v1', 'v2', 'v3', 'v4']);
  const failed = hostObject('b', { powerAction: failedWake, failedWakesInARow: 1 });
  assert.deepEqual(powerActions(planOf([hostObject('a'), failed, hostObject('c', { powerAction: { ...failedWake, type: 'PowerOff', phase: 'Succeeded' } })], [busy, down('b'), down('c')])), ['power-on c']);
  assert.deepEqual(powerActions(planOf([hostObject('a'), failed], [busy, down('b')])), ['power-on b'], 'the only standby host is still tried');
});

test('planner: WakeFailing keeps an empty host on, and one that is off is not woken for that alone', () => {
  const idle = up('a', 5, ['v1']);
  const failing = { failedWakesInARow: 3, powerAction: failedWake };
  assert.deepEqual(powerActions(planOf([hostObject('a'), hostObject('b')], [idle, up('b', 0)])), ['power-off b'], 'without it, the empty host goes to standby');
  assert.deepEqual(powerActions(planOf([hostObject('a'), hostObject('b', failing)], [idle, up('b', 0)])), [], 'with it, the empty host stays on');
  assert.deepEqual(powerActions(planOf([hostObject('a'), hostObject('b', failing)], [idle, down('b')])), [], 'off with it and no load to carry: left off, not retried');
  assert.deepEqual(powerActions(planOf([hostObject('a'), hostObject('b', failing)], [up('a', 95, ['v1', 'v2', 'v3', 'v4']), down('b')])), ['power-on b'], 'load needs it: woken');
});
