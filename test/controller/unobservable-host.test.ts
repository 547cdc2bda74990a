/**
 * Issue 20, finding 1: a host whose observation failed (here the way LibvirtSshDriver reports a
 * `virsh` that fails while libvirtd restarts: SSH answered, so reachable and on, but an error and
 * no domains) is not observable. Its empty domain list means "unknown": it is never planned as
 * empty, never a migration target and never powered off, its status says why, and the VMs last
 * seen on it are Unknown, not NotFound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Registry } from 'prom-client';
import type { ObservedHost } from '../../src/api/drivers.ts';
import type { PhysicalHost, VirtualMachinePlacement } from '../../src/api/types.ts';
import { metricsObserver } from '../../src/controller/observers.ts';
import { plannerPolicy } from '../../src/controller/policy.ts';
import { buildSnapshot } from '../../src/controller/snapshot.ts';
import { hostStatus, placementStatus } from '../../src/controller/status.ts';
import { TideMetrics } from '../../src/metrics/tide-metrics.ts';
import { plan } from '../../src/planner/plan.ts';

const T0 = Date.parse('2026-11-25T12:00:00Z');
const NOW = new Date(T0).toISOString();

function host(name: string, status?: PhysicalHost['status']): PhysicalHost {
  return {
    apiVersion: 'tide.dev/v1alpha1', kind: 'PhysicalHost', metadata: { name, generation: 1 },
    spec: { address: name, capacity: { cpuCores: 4, memoryMiB: 16384 }, standbyAllowed: true, maintenance: false,
      power: { onMethod: 'WakeOnLAN', offMethod: 'SSH', wakeOnLAN: { macAddress: '52:54:00:00:00:01', broadcastAddress: '10.255.255.255', port: 9 }, bootTimeoutSeconds: 600, shutdownTimeoutSeconds: 300 } },
    ...(status ? { status } : {}),
  };
}

const vmp = (domain: string, status?: VirtualMachinePlacement['status']): VirtualMachinePlacement => ({
  apiVersion: 'tide.dev/v1alpha1', kind: 'VirtualMachinePlacement', metadata: { name: domain, namespace: 'lab', generation: 1 },
  spec: { domain, doNotMigrate: false, priority: 0 }, ...(status ? { status } : {}),
});

function seen(name: string, domains: string[]): ObservedHost {
  return {
    name, reachable: true, powerState: 'on', observedAtMs: T0, cpuLoadPercent: 1, memoryUsedMiB: 1024 * domains.length,
    domains: domains.map((d) => ({ name: d, state: 'running', vcpus: 1, memoryMiB: 1024, cpuLoadPercent: 2 })),
  };
}

/** What LibvirtSshDriver returns when SSH answers but `virsh` does not (libvirtd restarting). */
const VIRSH_DOWN = "host node200: sampling failed with exit 1: error: failed to connect to the hypervisor\nerror: Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory";
const virshFailed = (name: string): ObservedHost => ({
  name, reachable: true, powerState: 'on', domains: [], error: VIRSH_DOWN, errorReason: 'CommandFailed', observedAtMs: T0,
});

const POLICY = plannerPolicy({
  strategy: 'paper', overloadThresholdPercent: 80, consolidationThresholdPercent: 80, balanceThresholdPercent: 10,
  evaluationInterval: '10m', evaluateOnOverload: true, minHostsOn: 1, maxConcurrentMigrations: 2, maxMigrationsPerRound: 20,
  migrationTimeout: '10m', migrationCooldown: '0s', powerCooldown: '0s', timeZone: 'UTC', dryRun: false,
}, T0);

test('a host whose virsh failed is left out of planning: never powered off, never a migration target', () => {
  // node100 is idle with two VMs, node200 runs a VM that libvirt cannot show right now.
  const hosts = [host('node100'), host('node200')];
  const observed = new Map([['node100', seen('node100', ['vm-1', 'vm-2'])], ['node200', virshFailed('node200')]]);
  const { snapshot, excluded } = buildSnapshot({ nowMs: T0, hosts, placements: [vmp('vm-1'), vmp('vm-2'), vmp('vm-3')], observed });
  assert.deepEqual(snapshot.hosts.map((h) => h.name), ['node100'], 'only the observable host is planned');
  assert.equal(excluded.length, 1);
  assert.equal(excluded[0]!.host, 'node200');
  assert.match(excluded[0]!.why, /failed to connect to the hypervisor/);
  const p = plan(snapshot, POLICY);
  const touching = p.actions.filter((a) => ('host' in a && a.host === 'node200') || (a.type === 'migrate' && (a.to === 'node200' || a.from === 'node200')));
  assert.deepEqual(touching, [], `no action on node200: ${p.actions.map((a) => a.message).join('; ')}`);
});

test('a host Tide powered off that answers SSH but not virsh is on, with unknown domains: excluded, not off', () => {
  const off = host('node200', { powerAction: { id: 'p', type: 'PowerOff', phase: 'Succeeded', reason: 'EmptyHost', message: '', startedAt: NOW } });
  const { snapshot, excluded } = buildSnapshot({ nowMs: T0, hosts: [host('node100'), off], placements: [], observed: new Map([['node100', seen('node100', [])], ['node200', virshFailed('node200')]]) });
  assert.deepEqual(snapshot.hosts.map((h) => h.name), ['node100']);
  assert.deepEqual(excluded.map((e) => e.host), ['node200']);
  // Unreachable (no SSH) after Tide's own confirmed power-off is still off, a candidate to wake.
  const unreachable: ObservedHost = { name: 'node200', reachable: false, powerState: 'unknown', domains: [], error: 'connect ECONNREFUSED', errorReason: 'Unreachable', observedAtMs: T0 };
  const woken = buildSnapshot({ nowMs: T0, hosts: [host('node100'), off], placements: [], observed: new Map([['node100', seen('node100', [])], ['node200', unreachable]]) });
  assert.equal(woken.snapshot.hosts.find((h) => h.name === 'node200')?.powerState, 'off');
});

test('host status says why a host whose virsh failed is not observed, and does not claim it runs no VM', () => {
  const before = hostStatus(host('node200'), seen('node200', ['vm-3']), 80, NOW);
  const status = hostStatus(host('node200', before), virshFailed('node200'), 80, NOW);
  const reachable = status.conditions!.find((c) => c.type === 'Reachable')!;
  assert.equal(reachable.status, 'False');
  assert.equal(reachable.reason, 'CommandFailed');
  assert.match(reachable.message, /failed to connect to the hypervisor/);
  assert.match(reachable.message, /left out of planning/);
  const ready = status.conditions!.find((c) => c.type === 'Ready')!;
  assert.equal(ready.status, 'False');
  assert.equal(status.powerState, 'On', 'SSH answered: the host is on');
  assert.equal(status.vmCount, undefined, 'VM count unknown, not 0');
  assert.equal(status.vms, undefined);
});

test('a VM last seen on a host whose virsh failed is Unknown, not NotFound', () => {
  const observed = new Map([['node100', seen('node100', ['vm-1'])], ['node200', virshFailed('node200')]]);
  const status = placementStatus(vmp('vm-3', { host: 'node200', state: 'Running' }), observed, NOW);
  assert.equal(status.state, 'Unknown');
  const ready = status.conditions!.find((c) => c.type === 'Ready')!;
  assert.match(ready.message, /node200 cannot be observed/);
  // Every host observable and the domain nowhere: that is NotFound.
  const allSeen = new Map([['node100', seen('node100', ['vm-1'])], ['node200', seen('node200', [])]]);
  assert.equal(placementStatus(vmp('vm-3'), allSeen, NOW).state, 'NotFound');
});

async function gauge(registry: Registry, name: string, host: string): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  return (await metric?.get())?.values.find((v) => v.labels.host === host)?.value;
}

test('metrics export no VM count for a host whose domains are unknown', async () => {
  const metrics = new TideMetrics({ processMetrics: false });
  const observer = metricsObserver(metrics);
  observer.onObserved!([host('node100'), host('node200')], new Map([['node100', seen('node100', ['vm-1'])], ['node200', virshFailed('node200')]]), T0);
  assert.equal(await gauge(metrics.registry, 'tide_host_vms', 'node100'), 1);
  assert.equal(await gauge(metrics.registry, 'tide_host_vms', 'node200'), undefined);
});

test('history: a host whose observation failed gets no VM count (unknown), an observed one its count', async () => {
  const { historyObserver } = await import('../../src/controller/history.ts');
  const samples: { host: string; vmCount?: number }[] = [];
  const store = { appendHostSamples: (s: typeof samples) => void samples.push(...s), appendVmSamples: () => {} };
  const observer = historyObserver(store as never, { info() {}, warn() {}, error() {}, debug() {} });
  const ok: ObservedHost = { name: 'node100', reachable: true, powerState: 'on', observedAtMs: T0, cpuLoadPercent: 10, domains: [{ name: 'vm-1', state: 'running', vcpus: 2, memoryMiB: 1024, cpuLoadPercent: 10 }] };
  const broken: ObservedHost = { name: 'node200', reachable: true, powerState: 'on', observedAtMs: T0, domains: [], error: 'virsh: failed to connect to the hypervisor', errorReason: 'CommandFailed' };
  observer.onObserved!([host('node100'), host('node200')], new Map([['node100', ok], ['node200', broken]]), T0);
  assert.deepEqual(samples.map((s) => [s.host, s.vmCount]), [['node100', 1], ['node200', undefined]]);
});
