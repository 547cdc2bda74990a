/**
 * The data centre CloudSim's PlanetLab experiments simulate (Beloglazov & Buyya 2012;
 * Cloudslab/cloudsim examples/power/Constants.java and planetlab/PlanetLabConstants.java),
 * and the knobs `tide simulate --trace` offers to change it.
 *
 * `cloudsimCompat` reproduces CloudSim's memory behaviour: its PlanetLab VMs request 0 MB of
 * RAM once placed (their RAM utilisation model is null), so memory limits only the initial
 * placement, never consolidation. Tide's realistic mode (compat off) enforces host memory on
 * every migration and charges idle watts for a host whose VMs are all idle; its live migrations
 * follow a pre-copy model over shared links (migration-model.ts) and its hosts take time to boot
 * and shut down.
 */
import { SPECPOWER_TABLES } from '../power-model.ts';
import type { PreCopyParams } from './migration-model.ts';

export interface HostType {
  model: string;
  /** SPECpower table: watts at 0 %, 10 %, … 100 % CPU. */
  watts: readonly number[];
  /** MIPS of one core (CloudSim: one PE). */
  coreMips: number;
  cores: number;
  memoryMiB: number;
  bandwidthMbps: number;
  /** Realistic mode: seconds from power-on until the host takes VMs (default DEFAULT_BOOT_SECONDS). */
  bootSeconds?: number;
  /** Realistic mode: seconds from power-off (or its last VM leaving) until it draws nothing (default DEFAULT_SHUTDOWN_SECONDS). */
  shutdownSeconds?: number;
}

/**
 * A host's boot and shutdown time where its type gives none: the defaults of `tide simulate`
 * scenarios (src/sim/scenario.ts), 2 minutes and 30 s. CloudSim's hosts have no power states;
 * realistic mode charges idle watts for both.
 */
export const DEFAULT_BOOT_SECONDS = 120;
export const DEFAULT_SHUTDOWN_SECONDS = 30;

export interface VmType {
  mips: number;
  vcpus: number;
  memoryMiB: number;
}

export interface DatacentreSetup {
  hostCount: number;
  /** Host i gets hostTypes[i % hostTypes.length] (CloudSim's Helper.createHostList). */
  hostTypes: HostType[];
  /** VM i gets vmTypes[floor(i / ceil(vms / types))] (CloudSim's Helper.createVmList). */
  vmTypes: VmType[];
  /** Seconds between trace samples, which is also the planning interval (CloudSim: 300 for both). */
  intervalSeconds: number;
  /** Simulated length; CloudSim runs 24 h of 5-minute samples. */
  durationSeconds: number;
  cloudsimCompat: boolean;
  /** Share of a VM's demand it loses while it migrates (CloudSim: 10 %). */
  migrationDegradation: number;
  /** Host names (default host-0, host-1, …): a what-if over Tide's history keeps the real ones. */
  hostNames?: readonly string[];
  /** Indexes of hosts that start powered off (realistic mode; default: every host on). */
  hostsOffAtStart?: readonly number[];
  /** Realistic mode's live migrations (default REALISTIC_PRECOPY); CloudSim mode takes RAM / (bandwidth / 2). */
  migration?: PreCopyParams;
}

const G4 = 'HP ProLiant ML110 G4 (Xeon 3040)';
const G5 = 'HP ProLiant ML110 G5 (Xeon 3075)';

export const CLOUDSIM_SETUP: Readonly<DatacentreSetup> = Object.freeze({
  hostCount: 800,
  hostTypes: [
    { model: G4, watts: SPECPOWER_TABLES[G4], coreMips: 1860, cores: 2, memoryMiB: 4096, bandwidthMbps: 1000 },
    { model: G5, watts: SPECPOWER_TABLES[G5], coreMips: 2660, cores: 2, memoryMiB: 4096, bandwidthMbps: 1000 },
  ],
  vmTypes: [
    { mips: 2500, vcpus: 1, memoryMiB: 870 },
    { mips: 2000, vcpus: 1, memoryMiB: 1740 },
    { mips: 1000, vcpus: 1, memoryMiB: 1740 },
    { mips: 500, vcpus: 1, memoryMiB: 613 },
  ],
  intervalSeconds: 300,
  durationSeconds: 86_400,
  cloudsimCompat: true,
  migrationDegradation: 0.1,
});

/**
 * Seconds a live migration of `memoryMiB` takes to a host with a `bandwidthMbps` link: half
 * the link carries it, as in CloudSim's PowerDatacenter (RAM / (bw / (2 × 8000)) with bw in
 * kbit/s): 1,740 MB over 1 Gbit/s take 27.84 s.
 */
export function migrationSeconds(memoryMiB: number, bandwidthMbps: number): number {
  return memoryMiB / ((bandwidthMbps * 1000) / (2 * 8000));
}

export function hostTypeOf(setup: DatacentreSetup, index: number): HostType {
  return setup.hostTypes[index % setup.hostTypes.length];
}

export function vmTypeOf(setup: DatacentreSetup, index: number, vmCount: number): VmType {
  const perType = Math.ceil(vmCount / setup.vmTypes.length);
  return setup.vmTypes[Math.min(setup.vmTypes.length - 1, Math.floor(index / perType))];
}
