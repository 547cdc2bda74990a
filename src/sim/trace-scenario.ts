/**
 * Scenarios from PlanetLab traces (`tide simulate --trace DIR`): one VM per trace file. With a
 * base scenario the VMs join its hosts; without one the hosts follow CloudSim's PlanetLab
 * set-up (HP ML110 G4 and G5 alternating, 2 cores, 4 GiB; VM types by quarter), scaled to
 * 800 hosts per 1,052 VMs as in CloudSim's runs. This is the honest small model; the
 * CloudSim-compatible one (MIPS, per-core limits, its energy bookkeeping) is issue 9's.
 */
import { traceLoad } from './load.ts';
import { SPECPOWER_TABLES, tablePower } from './power-model.ts';
import { DEFAULT_POLICY } from '../planner/plan.ts';
import { DEFAULT_START, simMeterId, type Scenario } from './scenario.ts';
import { PLANETLAB_INTERVAL_SECONDS, TraceError, type Trace } from './trace.ts';
import type { SimHostSpec, SimVmSpec } from './datacentre.ts';

const HOST_MODELS = ['HP ProLiant ML110 G4 (Xeon 3040)', 'HP ProLiant ML110 G5 (Xeon 3075)'];
const VM_MEMORY_MIB = [870, 1740, 1740, 613];

export interface TraceScenarioOptions {
  /** Hosts to create when there is no base scenario (default: 800 per 1,052 VMs). */
  hosts?: number;
  base?: Scenario;
}

export function traceScenario(dir: string, traces: readonly Trace[], options: TraceScenarioOptions = {}): Scenario {
  const base = options.base;
  const hosts = base?.hosts ?? cloudsimHosts(options.hosts ?? Math.max(1, Math.ceil((traces.length * 800) / 1052)));
  const quarter = Math.ceil(traces.length / 4);
  const free = new Map(hosts.map((h) => [h.name, h.memoryMiB]));
  for (const vm of base?.vms ?? []) free.set(vm.host, (free.get(vm.host) ?? 0) - vm.memoryMiB);
  const onHosts = hosts.filter((h) => h.powerState === 'on');
  if (onHosts.length === 0) throw new TraceError(`${dir}: no host is on to place the trace VMs on`);
  let cursor = 0;
  const vms: SimVmSpec[] = traces.map((trace, i) => {
    const memoryMiB = VM_MEMORY_MIB[Math.min(3, Math.floor(i / quarter))];
    // Round robin over the hosts that are on, skipping those without memory left.
    for (let tries = 0; tries < onHosts.length; tries++, cursor++) {
      const host = onHosts[cursor % onHosts.length];
      if ((free.get(host.name) ?? 0) < memoryMiB) continue;
      free.set(host.name, free.get(host.name)! - memoryMiB);
      cursor++;
      return { name: trace.name, host: host.name, vcpus: 1, memoryMiB, load: traceLoad(trace.samples, PLANETLAB_INTERVAL_SECONDS), doNotMigrate: false };
    }
    throw new TraceError(`${trace.file}: no host has ${memoryMiB} MiB left for this VM (${traces.length} VMs on ${onHosts.length} hosts)`);
  });
  const longest = Math.max(...traces.map((t) => t.samples.length));
  return {
    name: base ? `${base.name}+traces` : `planetlab:${dir}`,
    description: `${traces.length} PlanetLab traces from ${dir}${base ? ` on the hosts of ${base.name}` : `, ${hosts.length} CloudSim-style hosts`}`,
    file: base?.file ?? dir,
    startMs: base?.startMs ?? DEFAULT_START,
    durationSeconds: base?.durationSeconds ?? longest * PLANETLAB_INTERVAL_SECONDS,
    evaluation: base?.evaluation ?? { firstAtSeconds: 0, intervalSeconds: PLANETLAB_INTERVAL_SECONDS, onOverload: true },
    migration: base?.migration ?? { bandwidthMbps: 1000, overheadSeconds: 2.5, cpuPercent: 20, maxConcurrent: 64 },
    policy: base?.policy ?? DEFAULT_POLICY,
    hosts,
    vms: [...(base?.vms ?? []), ...vms],
  };
}

function cloudsimHosts(count: number): SimHostSpec[] {
  return Array.from({ length: count }, (_, i) => {
    const model = HOST_MODELS[i % 2];
    return {
      name: `host-${i + 1}`,
      cpuCores: 2,
      memoryMiB: 4096,
      power: tablePower(SPECPOWER_TABLES[model], model),
      offWatts: 0,
      bootSeconds: 120,
      shutdownSeconds: 30,
      powerState: 'on',
      standbyAllowed: true,
      maintenance: false,
      meterId: simMeterId(i),
    };
  });
}
