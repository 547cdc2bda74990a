/**
 * The oracle's upper reference: a packing that is reachable, made with perfect knowledge of
 * each interval and from scratch every interval (no migration, no boot time paid). Every VM
 * goes on a host with room for its memory and for its CPU demand at both ends of the interval
 * (the simulator interpolates linearly between them, so it has room throughout), on cores
 * that give each vCPU what it asks, so the simulator would charge it exactly what is computed here:
 * first-fit decreasing — by memory, then CPU, where memory counts (realistic mode), by CPU
 * where it does not — over hosts in a fixed order, in two orders (the most efficient at full
 * load first; the least idle watts first), keeping the cheaper. An online strategy pays
 * migrations and boots on top and sees no future, so it is a target to approach, not a bound:
 * a strategy can beat it by packing better.
 */
import type { IntervalVm } from './workload.ts';
import type { HostPool } from './power-bound.ts';

export interface OpenHost {
  pool: HostPool;
  startMips: number;
  endMips: number;
  memoryMiB: number;
}

/** The host orders tried: each model's hosts in a block, models sorted by `key`. */
export function hostOrders(pools: readonly HostPool[]): HostPool[][] {
  const by = (key: (p: HostPool) => number) => [...pools].sort((a, b) => key(a) - key(b));
  return [by((p) => p.power.peakWatts / p.capacityMips), by((p) => p.power.idleWatts)];
}

function fits(host: OpenHost, vm: IntervalVm): boolean {
  return Math.max(vm.startMips, vm.endMips) / vm.type.vcpus <= host.pool.coreMips &&
    host.startMips + vm.startMips <= host.pool.capacityMips &&
    host.endMips + vm.endMips <= host.pool.capacityMips &&
    host.memoryMiB + vm.memoryMiB <= host.pool.memoryMiB;
}

/** First-fit decreasing over `order`: the hosts used, or null when some VM fits nowhere. */
export function firstFitDecreasing(vms: readonly IntervalVm[], order: readonly HostPool[]): OpenHost[] | null {
  const items = [...vms].sort((a, b) => b.memoryMiB - a.memoryMiB || Math.max(b.startMips, b.endMips) - Math.max(a.startMips, a.endMips));
  const open: OpenHost[] = [];
  const left = order.map((p) => p.count);
  for (const vm of items) {
    let host = open.find((h) => fits(h, vm));
    if (!host) {
      const next = order.findIndex((p, i) => left[i] > 0 && fits({ pool: p, startMips: 0, endMips: 0, memoryMiB: 0 }, vm));
      if (next < 0) return null;
      left[next]--;
      host = { pool: order[next], startMips: 0, endMips: 0, memoryMiB: 0 };
      open.push(host);
    }
    host.startMips += vm.startMips;
    host.endMips += vm.endMips;
    host.memoryMiB += vm.memoryMiB;
  }
  return open;
}

/**
 * First fit decreasing in each of `orders`, the cheapest over one interval of `seconds`; null
 * when some VM fits nowhere in every order.
 */
export function cheapestPacking(vms: readonly IntervalVm[], orders: readonly (readonly HostPool[])[], seconds: number, cloudsimCompat: boolean): OpenHost[] | null {
  let best: OpenHost[] | null = null;
  let bestJoules = Infinity;
  for (const order of orders) {
    const hosts = firstFitDecreasing(vms, order);
    const joules = hosts ? packingJoules(hosts, seconds, cloudsimCompat) : Infinity;
    if (hosts && joules < bestJoules) [best, bestJoules] = [hosts, joules];
  }
  return best;
}

/** A given assignment (host index → its model) as a packing of the VMs present. */
export function packingOf(vms: readonly IntervalVm[], hostOf: (vmIndex: number) => { host: number; pool: HostPool }): OpenHost[] {
  const hosts = new Map<number, OpenHost>();
  for (const vm of vms) {
    const { host, pool } = hostOf(vm.index);
    const h = hosts.get(host) ?? { pool, startMips: 0, endMips: 0, memoryMiB: 0 };
    h.startMips += vm.startMips;
    h.endMips += vm.endMips;
    h.memoryMiB += vm.memoryMiB;
    hosts.set(host, h);
  }
  return [...hosts.values()];
}

/**
 * Joules of the hosts used over one interval, as the simulator charges a placement that does
 * not change: the mean of the watts at its start and end × its length; in CloudSim's
 * accounting (compatibility mode) a host at exactly 0 % at the start draws nothing.
 */
export function packingJoules(hosts: readonly OpenHost[], seconds: number, cloudsimCompat: boolean): number {
  let joules = 0;
  for (const h of hosts) {
    const start = h.startMips / h.pool.capacityMips;
    if (cloudsimCompat && start === 0) continue;
    joules += ((h.pool.power.watts(start * 100) + h.pool.power.watts((h.endMips / h.pool.capacityMips) * 100)) / 2) * seconds;
  }
  return joules;
}
