/**
 * CPU utilisation from two samples of cumulative counters (pure). A domain's load is its CPU
 * time over the interval divided by the time its vCPUs had; a host's load comes either from
 * /proc/stat (the real machine) or from the sum of its domains' CPU time over its capacity —
 * the latter for hosts that share one physical machine (the lab), where /proc/stat cannot
 * tell them apart.
 */
import type { ObservedDomain } from '../api/drivers.ts';
import type { HostSample } from './host-sample.ts';

export type HostLoadSource = 'procStat' | 'domainSum';

export interface LoadFigures {
  hostPercent: number;
  memoryUsedMiB: number;
  domains: ObservedDomain[];
}

const clampPercent = (value: number) => Math.min(100, Math.max(0, value));
const round1 = (value: number) => Math.round(value * 10) / 10;

export function loadBetween(first: HostSample, second: HostSample, source: HostLoadSource, capacityCores: number): LoadFigures {
  const wallNs = Number(second.atNs - first.atNs);
  const before = new Map(first.domains.map((d) => [d.name, d]));
  let domainCpuNs = 0;
  const domains = second.domains.map((d): ObservedDomain => {
    const earlier = before.get(d.name)?.cpuTimeNs;
    let cpuLoadPercent = 0;
    // A domain restarted between the samples has a smaller counter: no figure rather than a wrong one.
    if (wallNs > 0 && d.cpuTimeNs !== undefined && earlier !== undefined && d.cpuTimeNs >= earlier) {
      const usedNs = Number(d.cpuTimeNs - earlier);
      domainCpuNs += usedNs;
      cpuLoadPercent = clampPercent((100 * usedNs) / (wallNs * Math.max(1, d.vcpus)));
    }
    return { name: d.name, state: d.state, vcpus: d.vcpus, memoryMiB: Math.round(d.memoryKiB / 1024), cpuLoadPercent: round1(cpuLoadPercent) };
  });
  let hostPercent: number;
  if (source === 'domainSum') {
    hostPercent = wallNs > 0 ? clampPercent((100 * domainCpuNs) / (wallNs * capacityCores)) : 0;
  } else {
    const total = Number(second.cpuTotalJiffies - first.cpuTotalJiffies);
    const idle = Number(second.cpuIdleJiffies - first.cpuIdleJiffies);
    hostPercent = total > 0 ? clampPercent((100 * (total - idle)) / total) : 0;
  }
  const memoryUsedMiB = Math.round((second.memTotalKiB - second.memAvailableKiB) / 1024);
  return { hostPercent: round1(hostPercent), memoryUsedMiB, domains };
}
