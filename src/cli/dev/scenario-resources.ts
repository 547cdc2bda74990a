/**
 * The custom resources that describe a simulated scenario to the operator: one PhysicalHost
 * per simulated host (with its simulated meter), one VirtualMachinePlacement per VM, and the
 * scenario's policy as the `default` ConsolidationPolicy. Pure.
 */
import { API_VERSION } from '../../api/crds.ts';
import type { ConsolidationPolicy, PhysicalHost, VirtualMachinePlacement } from '../../api/types.ts';
import type { Scenario } from '../../sim/scenario.ts';

type Manifest<T> = Omit<T, 'spec' | 'status'> & { spec: Partial<T extends { spec: infer S } ? S : never> };

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
}

/** A locally administered MAC per host: the simulator stands in for the Wake-on-LAN target. */
function simMac(index: number): string {
  const hex = (index + 1).toString(16).padStart(6, '0');
  return `02:00:00:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}`;
}

export function scenarioResources(scenario: Scenario, namespace: string) {
  const hosts: Manifest<PhysicalHost>[] = scenario.hosts.map((h, i) => ({
    apiVersion: API_VERSION,
    kind: 'PhysicalHost',
    metadata: { name: h.name, labels: { 'tide.dev/scenario': scenario.name } },
    spec: {
      address: h.name,
      capacity: { cpuCores: h.cpuCores, memoryMiB: h.memoryMiB },
      power: {
        onMethod: 'WakeOnLAN',
        offMethod: 'SSH',
        wakeOnLAN: { macAddress: simMac(i), broadcastAddress: '127.255.255.255', port: 9 },
        bootTimeoutSeconds: Math.max(60, h.bootSeconds * 3),
        shutdownTimeoutSeconds: Math.max(60, h.shutdownSeconds * 3),
        idleWatts: h.power.idleWatts,
        peakWatts: h.power.peakWatts,
      },
      meter: { ieeeAddress: h.meterId },
      standbyAllowed: h.standbyAllowed,
      maintenance: h.maintenance,
    },
  }));
  const placements: Manifest<VirtualMachinePlacement>[] = scenario.vms.map((vm) => ({
    apiVersion: API_VERSION,
    kind: 'VirtualMachinePlacement',
    metadata: { name: vm.name.toLowerCase(), namespace },
    spec: {
      domain: vm.name,
      doNotMigrate: vm.doNotMigrate,
      ...(vm.pinnedHost ? { pinnedHost: vm.pinnedHost } : {}),
      ...(vm.antiAffinityGroup ? { antiAffinityGroup: vm.antiAffinityGroup } : {}),
    },
  }));
  const p = scenario.policy;
  const policy: Manifest<ConsolidationPolicy> = {
    apiVersion: API_VERSION,
    kind: 'ConsolidationPolicy',
    metadata: { name: 'default' },
    spec: {
      strategy: p.strategy,
      overloadThresholdPercent: p.overloadThresholdPercent,
      consolidationThresholdPercent: p.consolidationThresholdPercent,
      balanceThresholdPercent: p.balanceThresholdPercent,
      minHostsOn: p.minHostsOn,
      evaluationInterval: `${scenario.evaluation.intervalSeconds}s`,
      evaluateOnOverload: scenario.evaluation.onOverload,
      maxConcurrentMigrations: scenario.migration.maxConcurrent,
      maxMigrationsPerRound: p.maxMigrationsPerPlan,
      migrationCooldown: seconds(p.migrationCooldownMs),
      powerCooldown: seconds(p.powerCooldownMs),
      approval: scenario.approval ?? 'Automatic',
    },
  };
  return { hosts, placements, policy };
}
