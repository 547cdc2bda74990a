/** Small builders for simulator tests. */
import { constantLoad, type LoadTimeline } from '../../src/sim/load.ts';
import { linearPower } from '../../src/sim/power-model.ts';
import { SimDataCentre, type SimHostSpec, type SimVmSpec } from '../../src/sim/datacentre.ts';

export const START = Date.parse('2026-01-01T00:00:00Z');

export function simHost(name: string, extra: Partial<SimHostSpec> = {}): SimHostSpec {
  return {
    name, cpuCores: 4, memoryMiB: 8192, power: linearPower(50, 150), offWatts: 2, bootSeconds: 60, shutdownSeconds: 20,
    powerState: 'on', standbyAllowed: true, maintenance: false, meterId: `meter-${name}`, ...extra,
  };
}

export function simVm(name: string, host: string, load: number | LoadTimeline, extra: Partial<SimVmSpec> = {}): SimVmSpec {
  return { name, host, vcpus: 2, memoryMiB: 1024, load: typeof load === 'number' ? constantLoad(load) : load, doNotMigrate: false, ...extra };
}

export function dataCentre(hosts: SimHostSpec[], vms: SimVmSpec[]): SimDataCentre {
  return new SimDataCentre(hosts, vms, { bandwidthMbps: 1000, overheadSeconds: 2, cpuPercent: 10 }, START);
}
