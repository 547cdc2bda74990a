/**
 * The soak's data centre: H hosts and V VMs whose loads change every 20 simulated minutes by
 * default (drawn from the seed), one VM pinned and one doNotMigrate, and the policy Tide runs it by.
 */
import type { LoadTimeline } from '../../src/sim/load.ts';
import { linearPower } from '../../src/sim/power-model.ts';
import { DEFAULT_START, simMeterId, type Scenario } from '../../src/sim/scenario.ts';
import { DEFAULT_POLICY } from '../../src/planner/plan.ts';
import { Rng } from './rng.ts';

export const LOAD_PERIOD_S = 1200;

/** Settable from outside: once `atSeconds` is set, loads stay as they are from then on. */
export interface LoadFreeze {
  atSeconds?: number;
}

/** How VM loads change: every `periodSeconds`, a share `hotShare` of VMs runs at 60–95 %, the rest at 0–45 %. */
export interface LoadPattern {
  periodSeconds: number;
  hotShare: number;
  /** Hosts (the last ones) that start switched off, empty: the first wake-ups come sooner. */
  offHosts?: number;
}

export const DEFAULT_LOAD: LoadPattern = { periodSeconds: LOAD_PERIOD_S, hotShare: 0.12 };

function periodicLoad(seed: number, index: number, freeze: LoadFreeze, pattern: LoadPattern): LoadTimeline {
  const period = pattern.periodSeconds;
  const level = (n: number) => {
    const rng = new Rng((seed * 7919 + index * 104_729 + n * 15_485_863) >>> 0);
    return rng.next() < pattern.hotShare ? 60 + 35 * rng.next() : 45 * rng.next();
  };
  const periodAt = (s: number) => Math.floor((freeze.atSeconds !== undefined ? Math.min(s, freeze.atSeconds) : s) / period);
  return {
    at: (s) => Math.round(level(periodAt(s))),
    nextChange: (s) => (freeze.atSeconds !== undefined && s >= freeze.atSeconds ? Infinity : (Math.floor(s / period) + 1) * period),
  };
}

export interface SoakPolicy {
  minHostsOn: number;
  migrationCooldownS: number;
  powerCooldownS: number;
  evaluationIntervalS: number;
  migrationTimeoutS: number;
}

export const SOAK_POLICY: SoakPolicy = { minHostsOn: 2, migrationCooldownS: 300, powerCooldownS: 300, evaluationIntervalS: 60, migrationTimeoutS: 180 };

export function soakScenario(seed: number, hosts: number, vms: number, freeze: LoadFreeze, load: LoadPattern = DEFAULT_LOAD): Scenario {
  if (!(hosts >= 2)) throw new Error(`--hosts must be at least 2, got ${hosts}`);
  if (!(vms >= 2)) throw new Error(`--vms must be at least 2, got ${vms}`);
  const hostNames = Array.from({ length: hosts }, (_, i) => `host-${i + 1}`);
  const onHosts = hosts - (load.offHosts ?? 0);
  if (onHosts < SOAK_POLICY.minHostsOn) throw new Error(`${load.offHosts} hosts off leaves fewer than minHostsOn ${SOAK_POLICY.minHostsOn} on`);
  return {
    name: 'soak',
    description: `chaos soak: ${hosts} hosts, ${vms} VMs`,
    file: '(soak)',
    startMs: DEFAULT_START,
    durationSeconds: Number.MAX_SAFE_INTEGER,
    evaluation: { firstAtSeconds: 0, intervalSeconds: SOAK_POLICY.evaluationIntervalS, onOverload: true },
    migration: { bandwidthMbps: 1000, overheadSeconds: 2.5, cpuPercent: 10, maxConcurrent: 2 },
    policy: {
      ...DEFAULT_POLICY,
      minHostsOn: SOAK_POLICY.minHostsOn,
      migrationCooldownMs: SOAK_POLICY.migrationCooldownS * 1000,
      powerCooldownMs: SOAK_POLICY.powerCooldownS * 1000,
    },
    hosts: hostNames.map((name, i) => ({
      name,
      cpuCores: 8,
      memoryMiB: 32_768,
      power: linearPower(80, 200),
      offWatts: 5,
      bootSeconds: 60,
      shutdownSeconds: 30,
      powerState: i < onHosts ? ('on' as const) : ('off' as const),
      standbyAllowed: true,
      maintenance: false,
      meterId: simMeterId(i),
    })),
    vms: Array.from({ length: vms }, (_, i) => ({
      name: `vm-${i + 1}`,
      host: hostNames[i % onHosts],
      vcpus: 2,
      memoryMiB: 2048,
      load: periodicLoad(seed, i, freeze, load),
      ...(i === 0 ? { pinnedHost: hostNames[0] } : {}),
      doNotMigrate: i === 1,
    })),
  };
}
