/**
 * A small world for driving the real Executor and Reconciler without an API server: an
 * in-memory ClusterWriter (objects, status writes, Events, injectable failures) and a model
 * hypervisor that holds each host's domains and memory — a migrating VM's memory taken on both
 * hosts, as libvirt does — and lets a test decide when and how each migration ends.
 */
import { CONSOLIDATION_POLICY, PHYSICAL_HOST, VIRTUAL_MACHINE_PLACEMENT, type ResourceDefinition } from '../../src/api/crds.ts';
import type { Clock } from '../../src/api/clock.ts';
import type { HostTarget, HypervisorDriver, MigrationOutcome, MigrationRequest, ObservedHost, PowerDriver } from '../../src/api/drivers.ts';
import type { ConsolidationPolicy, PhysicalHost, Resource, VirtualMachinePlacement } from '../../src/api/types.ts';
import type { ClusterWriter, EventType, ObjectRef } from '../../src/controller/cluster.ts';
import type { ExecutionInput } from '../../src/controller/executor.ts';
import type { Logger } from '../../src/controller/log.ts';
import type { Plan, Snapshot } from '../../src/planner/types.ts';

export const T0 = 1_700_000_000_000;

export const testClock: Clock = { now: () => T0, sleep: (ms, signal) => new Promise((resolve, reject) => {
  const t = setTimeout(resolve, Math.min(ms, 5));
  signal?.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)), { once: true });
}) };

export function quietLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const add = (level: string) => (msg: string) => void lines.push(`${level} ${msg}`);
  return { lines, info: add('info'), warn: add('warn'), error: add('error'), debug: () => {} };
}

type AnyResource = Resource<unknown, unknown> & { kind?: string };

/** Which write fails: return an error to throw, or undefined to let it through. */
export type WriteFault = (op: 'updateStatus' | 'read', ref: ObjectRef, nth: number) => Error | undefined;

export class MemoryWriter implements ClusterWriter {
  readonly objects = new Map<string, AnyResource>();
  readonly events: { name: string; type: EventType; reason: string; message: string }[] = [];
  fault: WriteFault = () => undefined;
  private calls = 0;

  private key(def: ResourceDefinition, name: string, namespace?: string): string {
    return `${def.plural}/${namespace ?? ''}/${name}`;
  }

  put(def: ResourceDefinition, obj: AnyResource): void {
    this.objects.set(this.key(def, obj.metadata.name, obj.metadata.namespace), structuredClone(obj));
  }

  get<T>(def: ResourceDefinition, name: string, namespace?: string): T | undefined {
    return this.objects.get(this.key(def, name, namespace)) as T | undefined;
  }

  /** Changes an object's spec the way `kubectl patch` would, between two executor steps. */
  patchSpec(def: ResourceDefinition, name: string, patch: Record<string, unknown>, namespace?: string): void {
    const obj = this.objects.get(this.key(def, name, namespace));
    if (!obj) throw new Error(`no ${def.kind} ${name}`);
    obj.spec = { ...(obj.spec as object), ...patch };
  }

  async updateStatus<S>(ref: ObjectRef, mutate: (status: S, obj: Resource<unknown, S>) => S): Promise<void> {
    await Promise.resolve();
    const err = this.fault('updateStatus', ref, this.calls++);
    if (err) throw err;
    const obj = this.objects.get(this.key(ref.def, ref.name, ref.namespace));
    if (!obj) throw Object.assign(new Error(`${ref.def.kind} ${ref.name} not found`), { code: 404 });
    obj.status = mutate(structuredClone((obj.status ?? {}) as S), obj as Resource<unknown, S>);
  }

  async read<T>(ref: ObjectRef): Promise<T | undefined> {
    await Promise.resolve();
    const err = this.fault('read', ref, this.calls++);
    if (err) throw err;
    const obj = this.objects.get(this.key(ref.def, ref.name, ref.namespace));
    return obj ? (structuredClone(obj) as T) : undefined;
  }

  async recordEvent(ref: ObjectRef, type: EventType, reason: string, message: string): Promise<void> {
    this.events.push({ name: ref.name, type, reason, message });
  }

  async readSecret(): Promise<Record<string, string>> {
    return {};
  }
}

export function hostObject(h: Snapshot['hosts'][number]): PhysicalHost {
  return {
    apiVersion: 'tide.dev/v1alpha1', kind: 'PhysicalHost', metadata: { name: h.name, uid: `uid-${h.name}`, generation: 1 },
    spec: {
      address: '127.0.0.1', capacity: { cpuCores: h.cpuCores, memoryMiB: h.memoryMiB }, standbyAllowed: h.standbyAllowed, maintenance: h.maintenance,
      power: { onMethod: 'WakeOnLAN', offMethod: 'SSH', wakeOnLAN: { macAddress: '52:54:00:00:00:01', broadcastAddress: '127.255.255.255', port: 9 } },
    } as PhysicalHost['spec'],
  };
}

export function placementObject(vm: Snapshot['vms'][number]): VirtualMachinePlacement {
  return {
    apiVersion: 'tide.dev/v1alpha1', kind: 'VirtualMachinePlacement', metadata: { name: vm.name, namespace: 'prod', uid: `uid-${vm.name}` },
    spec: { domain: vm.name, doNotMigrate: vm.doNotMigrate, priority: 0, ...(vm.pinnedHost ? { pinnedHost: vm.pinnedHost } : {}) } as VirtualMachinePlacement['spec'],
    status: { host: vm.host, state: 'Running' } as VirtualMachinePlacement['status'],
  };
}

export function policyObject(spec: Partial<ConsolidationPolicy['spec']> = {}): ConsolidationPolicy {
  return {
    apiVersion: 'tide.dev/v1alpha1', kind: 'ConsolidationPolicy', metadata: { name: 'default', uid: 'uid-policy', generation: 1 },
    spec: { strategy: 'paper', minHostsOn: 1, maxConcurrentMigrations: 2, dryRun: false, ...spec } as ConsolidationPolicy['spec'],
  };
}

/** A started migration the test has not ended yet. */
export interface InFlight {
  request: MigrationRequest;
  end(succeeded: boolean): void;
}

/**
 * Hosts with domains and memory. A migration takes the VM's memory on its destination when it
 * starts and releases it on the source when it succeeds (on the destination when it fails);
 * `peaks` keeps, per host, the most memory it ever held.
 */
export class ModelHypervisor implements HypervisorDriver {
  readonly domains = new Map<string, { host: string; memoryMiB: number }>();
  readonly memory = new Map<string, number>();
  readonly capacity = new Map<string, number>();
  readonly inFlight: InFlight[] = [];
  /** Every moment a host held more memory than it has, as "host: used/capacity". */
  readonly overcommits: string[] = [];
  maxConcurrent = 0;
  started = 0;
  /** Resolve each migration at once with this result (otherwise the test ends it). */
  autoEnd?: (request: MigrationRequest) => boolean;
  /** What observeHost returns for a host; default: a complete observation of the model. */
  observe?: (target: HostTarget) => ObservedHost | undefined;

  constructor(snapshot: Snapshot) {
    for (const h of snapshot.hosts) {
      this.capacity.set(h.name, h.memoryMiB);
      this.memory.set(h.name, 0);
    }
    for (const vm of snapshot.vms) {
      this.domains.set(vm.name, { host: vm.host, memoryMiB: vm.memoryMiB });
      this.memory.set(vm.host, (this.memory.get(vm.host) ?? 0) + vm.memoryMiB);
    }
  }

  private take(host: string, mib: number): void {
    const used = (this.memory.get(host) ?? 0) + mib;
    this.memory.set(host, used);
    const cap = this.capacity.get(host) ?? Infinity;
    if (mib > 0 && used > cap) this.overcommits.push(`${host}: ${used}/${cap} MiB`);
  }

  async observeHost(target: HostTarget): Promise<ObservedHost> {
    const custom = this.observe?.(target);
    if (custom) return custom;
    const domains = [...this.domains].filter(([, d]) => d.host === target.name).map(([name, d]) => ({ name, state: 'running' as const, vcpus: 1, memoryMiB: d.memoryMiB, cpuLoadPercent: 0 }));
    return { name: target.name, reachable: true, powerState: 'on', domains, cpuLoadPercent: 0, observedAtMs: T0 };
  }

  migrate(request: MigrationRequest): Promise<MigrationOutcome> {
    const d = this.domains.get(request.domain)!;
    this.started++;
    this.take(request.to.name, d.memoryMiB);
    const running = this.inFlight.length + 1;
    this.maxConcurrent = Math.max(this.maxConcurrent, running);
    return new Promise((resolve) => {
      const flight: InFlight = {
        request,
        end: (succeeded) => {
          this.inFlight.splice(this.inFlight.indexOf(flight), 1);
          this.take(succeeded ? request.from.name : request.to.name, -d.memoryMiB);
          if (succeeded) d.host = request.to.name;
          resolve({ domain: request.domain, runningOn: d.host, succeeded, durationMs: 1, ...(succeeded ? {} : { error: 'model: migration failed' }) });
        },
      };
      this.inFlight.push(flight);
      request.signal?.addEventListener('abort', () => this.inFlight.includes(flight) && flight.end(false), { once: true });
      if (this.autoEnd) queueMicrotask(() => flight.end(this.autoEnd!(request)));
    });
  }

  async close(): Promise<void> {}
}

export class RecordingPower implements PowerDriver {
  readonly calls: string[] = [];
  fail = new Set<string>();
  async powerOn(host: HostTarget): Promise<void> {
    this.calls.push(`on ${host.name}`);
    if (this.fail.has(host.name)) throw new Error(`model: ${host.name} did not come up`);
  }
  async powerOff(host: HostTarget): Promise<void> {
    this.calls.push(`off ${host.name}`);
  }
}

/** Every object a plan's execution reads, in the writer, and the executor's input. */
export function executionOf(snapshot: Snapshot, plan: Plan, writer: MemoryWriter, policy = policyObject(), extra: Partial<ExecutionInput> = {}): ExecutionInput {
  writer.put(CONSOLIDATION_POLICY, policy);
  const hosts = new Map(snapshot.hosts.map((h) => [h.name, hostObject(h)]));
  for (const h of hosts.values()) writer.put(PHYSICAL_HOST, h);
  const placementByDomain = new Map(snapshot.vms.map((v) => [v.name, placementObject(v)]));
  for (const p of placementByDomain.values()) writer.put(VIRTUAL_MACHINE_PLACEMENT, p);
  const targets = new Map<string, HostTarget>([...hosts].map(([name, h]) => [name, { name, spec: h.spec }]));
  return { plan, snapshot, targets, hosts, placementByDomain, policy, maxConcurrentMigrations: policy.spec.maxConcurrentMigrations, migrationTimeoutMs: 60_000, ...extra };
}
