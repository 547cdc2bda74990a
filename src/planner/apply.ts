/**
 * What the world looks like once a plan has been carried out, assuming every action succeeds
 * and powered-on hosts have booted: for `tide plan`, for re-planning in tests (convergence),
 * and for the simulator's bookkeeping. Pure.
 */
import { overheadPoints, pointsOn, vmDemandCores } from './units.ts';
import type { HostSnapshot, Plan, Snapshot, VmSnapshot } from './types.ts';

export function applyPlan(snapshot: Snapshot, plan: Plan): Snapshot {
  const hosts = new Map(snapshot.hosts.map((h) => [h.name, { ...h }]));
  const vms = new Map(snapshot.vms.map((v) => [v.name, { ...v }]));
  const overhead = new Map(snapshot.hosts.map((h) => [h.name, overheadPoints(h, snapshot.vms.filter((v) => v.host === h.name))]));
  for (const action of plan.actions) {
    if (action.type === 'migrate') {
      const vm = vms.get(action.vm);
      if (vm) Object.assign(vm, { host: action.to, lastMigratedAtMs: snapshot.atMs });
    } else if (action.type === 'power-on' || action.type === 'power-off') {
      const host = hosts.get(action.host);
      if (host) Object.assign(host, { powerState: action.type === 'power-on' ? 'on' : 'off', lastPowerActionAtMs: snapshot.atMs });
    }
  }
  // A measured host load is stale once VMs moved: it becomes the overhead plus the VMs now there.
  for (const host of hosts.values()) {
    if (host.cpuLoadPercent === undefined) continue;
    host.cpuLoadPercent = host.powerState === 'on' ? loadOf(host, overhead.get(host.name) ?? 0, vms.values()) : 0;
  }
  return { atMs: snapshot.atMs, hosts: [...hosts.values()], vms: [...vms.values()] };
}

function loadOf(host: HostSnapshot, overhead: number, vms: Iterable<VmSnapshot>): number {
  let load = overhead;
  for (const vm of vms) if (vm.host === host.name) load += pointsOn(vmDemandCores(vm), host);
  return load;
}
