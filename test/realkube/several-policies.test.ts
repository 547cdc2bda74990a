/**
 * Issue 13 items 4 and 5 end to end, on both server tiers (the real kube-apiserver as the
 * chart's operator ServiceAccount): operators in this process on a simulated data centre.
 *
 * 1. Two ConsolidationPolicies on two racks, with different thresholds: each consolidates its
 *    own rack, no VM crosses racks, each has its own status; a host both select is reported on
 *    both policies (HostsOverlap) and on the host (PolicyConflict), and left alone.
 * 2. Two instances, `--policy-selector team=a` and `team=b`: each holds a Lease of its own,
 *    observes and acts only on its own rack, and both racks are consolidated at once.
 */
import { appendFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import type { HostTarget } from '../../src/api/drivers.ts';
import { scenarioResources } from '../../src/cli/dev/scenario-resources.ts';
import { KubeClusterWriter } from '../../src/controller/cluster.ts';
import { leaseNameFor } from '../../src/controller/leader-election.ts';
import { createLogger, silentLogger } from '../../src/controller/log.ts';
import { Operator } from '../../src/controller/operator.ts';
import type { Action } from '../../src/planner/types.ts';
import { plan } from '../../src/planner/plan.ts';
import { SimClock } from '../../src/sim/clock.ts';
import { SimHypervisorDriver, SimPowerDriver } from '../../src/sim/drivers.ts';
import { createDataCentre } from '../../src/sim/run.ts';
import { parseScenario } from '../../src/sim/scenario.ts';
import { stringify } from 'yaml';
import { waitFor } from '../hypervisor/eventually.ts';
import { chartSkip, find, renderChart } from '../install/render.ts';
import { forEachInstalledTier, NAMESPACE, type TideCluster } from './clusters.ts';

const eventually = <T>(what: string, probe: () => Promise<T | undefined | false | null>, timeoutMs = 30_000) => waitFor(what, probe, timeoutMs, 200);
const condition = (obj: any, type: string) => obj?.status?.conditions?.find((c: any) => c.type === type);

/** Idle hosts of 4 cores, two VMs each: every rack of two can be consolidated onto one host. */
function scenario(hosts: string[]) {
  const yaml = [
    'name: racks',
    'durationSeconds: 3600',
    'policy: { strategy: paper, overloadThresholdPercent: 80, consolidationThresholdPercent: 80, balanceThresholdPercent: 10, minHostsOn: 1 }',
    'migration: { bandwidthMbps: 1000, overheadSeconds: 1, cpuPercent: 5, maxConcurrent: 2 }',
    'hosts:',
    ...hosts.map((h) => `  - { name: ${h}, cpuCores: 4, memoryMiB: 16384, power: { idleWatts: 60, peakWatts: 110 }, bootSeconds: 20, shutdownSeconds: 10 }`),
    'vms:',
    ...hosts.flatMap((h) => [1, 2].map((i) => `  - { name: ${h}-vm${i}, host: ${h}, vcpus: 1, memoryMiB: 512, load: 0 }`)),
  ].join('\n');
  return parseScenario(yaml, 'racks.yaml');
}

const policy = (name: string, matchLabels: Record<string, string>, spec: object, labels: Record<string, string> = {}) => ({
  apiVersion: 'tide.dev/v1alpha1', kind: 'ConsolidationPolicy', metadata: { name, labels },
  spec: { strategy: 'paper', minHostsOn: 1, dryRun: false, hostSelector: { matchLabels }, ...spec },
});

interface Racks {
  clock: SimClock;
  /** Where each VM runs now, in the simulated data centre. */
  hostOf(vm: string): string;
}

/** kubectl apply of several objects, as one multi-document YAML. */
const apply = (c: TideCluster, objects: object[]) => c.kubectlOk(['apply', '-f', '-'], objects.map((o) => `---\n${stringify(o)}`).join(''));

/** The hosts (labelled as `labels` says, meters removed: the simulator reports watts) and VMs, applied; the data centre running 20× the wall. */
async function racks(c: TideCluster, t: { after(fn: () => void): void }, labels: Record<string, Record<string, string>>): Promise<Racks> {
  const s = scenario(Object.keys(labels));
  const clock = new SimClock(createDataCentre(s));
  t.after(clock.runRealtime(20));
  const { hosts, placements } = scenarioResources(s, 'racks');
  for (const h of hosts) {
    h.metadata.labels = { ...h.metadata.labels, ...labels[h.metadata.name] };
    delete h.spec.meter;
  }
  await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'racks' } }));
  await apply(c, [...hosts, ...placements]);
  return { clock, hostOf: (vm) => clock.dc.vms.get(vm)!.host.spec.name };
}

interface Instance {
  operator: Operator;
  /** Hosts this instance observed, and the hosts named in the actions it started. */
  observed: Set<string>;
  touched: Set<string>;
}

function startInstance(c: TideCluster, clock: SimClock, t: { after(fn: () => Promise<void>): void }, options: { identity: string; policySelector?: string; leaseName?: string }): Instance {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(c.credentials.operator);
  const observed = new Set<string>();
  const touched = new Set<string>();
  const hypervisor = new SimHypervisorDriver(clock);
  const observe = hypervisor.observeHost.bind(hypervisor);
  hypervisor.observeHost = (target: HostTarget) => (observed.add(target.name), observe(target));
  const hostsOf = (a: Action) => (a.type === 'migrate' ? [a.from, a.to] : 'host' in a && a.host ? [a.host] : []);
  const operator = new Operator({
    kubeConfig, clock, hypervisor, power: new SimPowerDriver(clock), planner: plan, log: process.env.TIDE_TEST_LOG ? createLogger({ format: 'text', write: (l) => appendFileSync(process.env.TIDE_TEST_LOG!, `[${options.identity}] ${l}\n`) }) : silentLogger,
    writer: new KubeClusterWriter(kubeConfig, options.identity),
    namespace: NAMESPACE,
    observeIntervalMs: 20_000,
    observer: { onActionStarted: (_id, action) => hostsOf(action).forEach((h) => touched.add(h)) },
    ...(options.policySelector ? { policySelector: options.policySelector } : {}),
    ...(options.leaseName ? { leaderElection: { namespace: NAMESPACE, name: options.leaseName, identity: options.identity } } : {}),
  });
  t.after(() => operator.stop());
  return { operator, observed, touched };
}

/**
 * Once a rack is consolidated — one host of `pair` off in the data centre, all four VMs on the
 * other — which is which, with the status the operator wrote for the host it powered off.
 * Polled off the simulator (cheap), not the API server.
 */
async function consolidated(c: TideCluster, r: Racks, pair: [string, string]): Promise<{ on: string; off: string }> {
  const { on, off } = await eventually(`${pair.join(' or ')} powered off, its VMs on the other`, async () => {
    const off = pair.find((h) => r.clock.dc.hosts.get(h)!.powerState === 'off');
    const on = pair.find((h) => h !== off)!;
    return off && pair.flatMap((h) => [`${h}-vm1`, `${h}-vm2`]).every((vm) => r.hostOf(vm) === on) ? { on, off } : undefined;
  });
  await c.kubectlOk(['wait', '--for=jsonpath={.status.powerState}=Off', `ph/${off}`, '--timeout=20s']);
  return { on, off };
}

forEachInstalledTier((cluster) => {
  test('two policies consolidate their own racks with their own thresholds and status; a host both select is reported and left alone', async (t) => {
    const c = await cluster();
    const r = await racks(c, t, { a1: { rack: 'a' }, a2: { rack: 'a' }, b1: { rack: 'b', row: '2' }, b2: { rack: 'b', row: '2' }, s1: { rack: 'a', row: '2' } });
    // Both policies there before the operator starts: were it to see one first, for a round
    // that one would select s1 alone, and govern it.
    await apply(c, [
      policy('rack-a', { rack: 'a' }, { overloadThresholdPercent: 85, consolidationThresholdPercent: 60 }),
      policy('row-2', { row: '2' }, { overloadThresholdPercent: 70, consolidationThresholdPercent: 50 }),
    ]);
    const { operator, touched } = startInstance(c, r.clock, t, { identity: 'tide-0' });
    await operator.start();

    const a = await consolidated(c, r, ['a1', 'a2']);
    const b = await consolidated(c, r, ['b1', 'b2']);
    // No VM crossed: s1 kept its own, and nothing else came to it; no action named it.
    assert.deepEqual([r.hostOf('s1-vm1'), r.hostOf('s1-vm2')], ['s1', 's1']);
    assert.ok(!touched.has('s1'), `s1 was left alone (actions touched ${[...touched]})`);
    for (const p of (await c.getJson('vmp', '-n', 'racks')).items) {
      const m = p.status?.migration;
      if (m) assert.equal(m.from[0], m.to[0], `${p.metadata.name} moved within its rack (${m.from}→${m.to})`);
    }

    const host = await eventually('s1 reported', async () => {
      const h = await c.getJson('ph', 's1');
      return condition(h, 'PolicyConflict') && h;
    });
    assert.deepEqual([condition(host, 'PolicyConflict').status, condition(host, 'PolicyConflict').reason], ['True', 'SelectedBySeveralPolicies']);
    assert.match(condition(host, 'PolicyConflict').message, /selected by ConsolidationPolicies rack-a, row-2/);
    assert.equal(host.status.powerState, 'On', 's1 is idle too, yet not powered off');
    // Each host measured against Th1 of its own policy; the shared one against the default.
    const th1 = async (h: string) => /against Th1 (\d+) %/.exec(condition(await c.getJson('ph', h), 'Overloaded')?.message ?? '')?.[1];
    assert.deepEqual([await th1(a.on), await th1(b.on), await th1('s1')], ['85', '70', '80']);

    for (const [name, own] of [['rack-a', a], ['row-2', b]] as const) {
      const p = await eventually(`${name}'s status`, async () => {
        const got = await c.getJson('consolidationpolicy', name);
        return got.status?.activeHosts === 1 && got.status.standbyHosts === 1 && got;
      });
      assert.deepEqual([condition(p, 'Ready').status, condition(p, 'HostsOverlap').status, condition(p, 'HostsOverlap').reason], ['True', 'True', 'HostsSelectedByOtherPolicies'], name);
      assert.match(condition(p, 'HostsOverlap').message, new RegExp(`s1 \\(also ConsolidationPolicy ${name === 'rack-a' ? 'row-2' : 'rack-a'}\\)`));
      assert.equal(condition(p, 'Satisfiable').status, 'True', `${name}: ${condition(p, 'Satisfiable').message}`);
      assert.match(condition(p, 'Satisfiable').message, /\(2 governed\)/, 'the shared host is not counted as governed');
      assert.ok(own.off, name);
    }
  });

  test('two instances, --policy-selector team=a and team=b: a Lease each, each observes and acts on its own rack only, both racks at once', async (t) => {
    const c = await cluster();
    const r = await racks(c, t, { a1: { rack: 'a' }, a2: { rack: 'a' }, b1: { rack: 'b' }, b2: { rack: 'b' } });
    const leases = { a: leaseNameFor('team=a'), b: leaseNameFor('team=b') };
    const instA = startInstance(c, r.clock, t, { identity: 'tide-a', policySelector: 'team=a', leaseName: leases.a });
    const instB = startInstance(c, r.clock, t, { identity: 'tide-b', policySelector: 'team=b', leaseName: leases.b });
    // After the instances stopped (hooks run in order), so none looks for its Lease gone.
    t.after(() => c.kubectlOk(['delete', 'lease', leases.a, leases.b, '-n', NAMESPACE, '--ignore-not-found']).then(() => undefined));
    await Promise.all([instA.operator.start(), instB.operator.start()]);
    await apply(c, [
      policy('rack-a', { rack: 'a' }, { overloadThresholdPercent: 80, consolidationThresholdPercent: 60 }, { team: 'a' }),
      policy('rack-b', { rack: 'b' }, { overloadThresholdPercent: 75, consolidationThresholdPercent: 50 }, { team: 'b' }),
    ]);

    for (const [inst, lease, identity] of [[instA, leases.a, 'tide-a'], [instB, leases.b, 'tide-b']] as const) {
      await eventually(`${identity} acting`, async () => inst.operator.isActing);
      const l = await c.getJson('lease', lease, '-n', NAMESPACE);
      assert.equal(l.spec.holderIdentity, identity, `${identity} holds its own Lease ${lease}`);
    }
    assert.notEqual(leases.a, leases.b);
    assert.deepEqual(instA.operator.reconciler.policies().map((p) => p.metadata.name), ['rack-a'], 'an instance sees only its own policies');

    await Promise.all([consolidated(c, r, ['a1', 'a2']), consolidated(c, r, ['b1', 'b2'])]);
    assert.deepEqual([...instA.observed].sort(), ['a1', 'a2'], 'instance a observes rack a only');
    assert.deepEqual([...instB.observed].sort(), ['b1', 'b2'], 'instance b observes rack b only');
    assert.ok([...instA.touched].every((h) => h.startsWith('a')) && instA.touched.size > 0, `a acted on ${[...instA.touched]}`);
    assert.ok([...instB.touched].every((h) => h.startsWith('b')) && instB.touched.size > 0, `b acted on ${[...instB.touched]}`);
    for (const name of ['rack-a', 'rack-b']) {
      const p = await c.getJson('consolidationpolicy', name);
      assert.ok(p.status?.lastEvaluationTime, `${name} evaluated by its instance`);
      assert.equal(condition(p, 'HostsOverlap').status, 'False');
    }
  });
});

test('the chart passes operator.policySelector and operator.leaderElectionId to tide run', { skip: chartSkip }, async () => {
  const objects = await renderChart({ operator: { policySelector: 'team in (a,b)', leaderElectionId: 'tide-racks' } });
  const args: string[] = (find(objects, 'Deployment', 'tide-operator') as any).spec.template.spec.containers[0].args;
  assert.deepEqual(args.filter((a) => /^--(policy-selector|leader-election-id)=/.test(a)), ['--policy-selector=team in (a,b)', '--leader-election-id=tide-racks']);
  const plain: string[] = (find(await renderChart(), 'Deployment', 'tide-operator') as any).spec.template.spec.containers[0].args;
  assert.ok(!plain.some((a) => a.startsWith('--policy-selector')), 'none by default: one instance owns every policy');
});
