/**
 * Paper §3.2, Th2: when the cluster's load would fit under Th2 % of the N−1 active hosts left
 * after emptying one, move the VMs off the least-loaded host and power it off.
 *
 * Choices where the paper is silent, each made against ping-pong:
 * - The test is on demand in cores: total demand ≤ Th2 % × cores of the hosts that remain.
 *   With alike hosts that is "average load ≤ Th2 × (N−1)/N", the paper's rule.
 * - The bound used is min(Th1, Th2), and no target may end above it: after consolidating, the
 *   average stays ≤ Th1, so the next round never powers the host straight back on.
 * - The least-loaded host goes first; ties go to the host that idles at more watts (it saves
 *   more), then by name. A host is only emptied if all its VMs find room, otherwise its
 *   tentative moves are rolled back and the next candidate is tried.
 * - After one host, the test is repeated with N−1 hosts, and so on, within the migration cap:
 *   a data centre of 800 hosts must not need 800 rounds to settle at night.
 */
import { listNames, num, pct } from '../explain.ts';
import { powerCooldownBlocks, vmBlocked } from '../filters.ts';
import { mostLoadedFit } from '../scoring.ts';
import type { ClusterState, HostState } from '../cluster.ts';

export interface ConsolidationOutcome {
  /** Hosts emptied and powered off. */
  emptied: number;
  summary: string;
}

/** Candidates tried and given up on per plan: keeps a plan on 10,000 hosts fast. */
const MAX_FAILED_EVACUATIONS = 32;

export function consolidate(c: ClusterState): ConsolidationOutcome {
  if (!c.policy.consolidationAllowed) return { emptied: 0, summary: 'consolidation not allowed now (outside the off-peak windows)' };
  const bound = Math.min(c.policy.overloadThresholdPercent, c.policy.consolidationThresholdPercent);
  const minHosts = Math.max(1, c.policy.minHostsOn);
  // A host that receives a VM in this plan can no longer be emptied (its new VM would move
  // twice), so the candidates keep the loads they had at the start: one sort suffices.
  const candidates = placementHosts(c);
  let hostCount = candidates.length;
  let cores = candidates.reduce((sum, h) => sum + h.cores, 0);
  let demand = candidates.reduce((sum, h) => sum + (h.load * h.cores) / 100, 0);
  // Only hosts that are on count towards minHostsOn. A host "booting" may never come up: its
  // power-on may have failed, or the process that recorded it died before sending it.
  let emptied = 0;
  let failures = 0;
  const blocked: string[] = [];
  for (const candidate of candidates) {
    const on = hostCount;
    if (on - 1 < minHosts) return done(emptied, `${on} host${on === 1 ? '' : 's'} on, minHostsOn ${c.policy.minHostsOn}`, blocked);
    if (evacuationBlocked(c, candidate, blocked)) continue;
    const remainingCores = cores - candidate.cores;
    const room = (bound / 100) * remainingCores;
    const fitText = `demand ${num(demand)} cores ${demand <= room ? '≤' : '>'} ${pct(bound)} of the ${num(remainingCores)} cores of ${hostCount - 1} host${hostCount === 2 ? '' : 's'} left`;
    if (demand > room) return done(emptied, `no consolidation: ${fitText}`, blocked);
    if (c.policy.maxMigrationsPerPlan > 0 && c.migrations + candidate.vms.length > c.policy.maxMigrationsPerPlan) {
      return done(emptied, `emptying ${candidate.name} would pass the cap of ${c.policy.maxMigrationsPerPlan} migrations`, blocked);
    }
    const why = evacuate(c, candidate, bound, fitText);
    if (why) {
      blocked.push(why);
      if (++failures >= MAX_FAILED_EVACUATIONS) return done(emptied, `gave up after ${failures} hosts could not be emptied`, blocked);
      continue;
    }
    // The VMs' demand moved with them; only the emptied host's own overhead leaves the total.
    demand -= (candidate.load * candidate.cores) / 100;
    cores -= candidate.cores;
    hostCount--;
    const stillOn = on - 1;
    const idle = candidate.snap.idleWatts !== undefined ? ` (saves ≈${num(candidate.snap.idleWatts)} W idle)` : '';
    c.powerOff(candidate, 'EmptyHost',
      `power off ${candidate.name}: emptied by consolidation${idle}; ${stillOn} host${stillOn === 1 ? '' : 's'} stay${stillOn === 1 ? 's' : ''} on (minHostsOn ${c.policy.minHostsOn})`);
    emptied++;
  }
  return done(emptied, 'no host can be emptied', blocked);
}

/** Hosts on, not in maintenance and not being emptied, least loaded first. */
function placementHosts(c: ClusterState): HostState[] {
  const hosts: HostState[] = [];
  for (let it = c.placement.begin(); !it.equals(c.placement.end()); it.next()) hosts.push(it.pointer.host);
  // Among equally loaded hosts, empty the one that idles at more watts first.
  return hosts.sort((a, b) => a.load - b.load || (b.snap.idleWatts ?? 0) - (a.snap.idleWatts ?? 0) || (a.name < b.name ? -1 : 1));
}

function evacuationBlocked(c: ClusterState, host: HostState, blocked: string[]): boolean {
  let why: string | null = null;
  if (!host.snap.standbyAllowed) why = `${host.name} may not be put in standby`;
  else why = powerCooldownBlocks(c, host) ?? host.vms.map((vm) => vmBlocked(c, vm)).find((w) => w !== null) ?? null;
  if (why) blocked.push(why);
  return why !== null;
}

/** Moves every VM off `host` (heaviest first, best fit) or, failing that, none; returns why not. */
function evacuate(c: ClusterState, host: HostState, bound: number, fitText: string): string | null {
  const mark = c.checkpoint();
  const startLoad = host.load;
  c.leavePlacement(host);
  for (const vm of [...host.vms]) {
    const target = mostLoadedFit(c, vm, bound);
    if (!target) {
      c.rollback(mark);
      c.enterPlacement(host);
      return `${vm.name} on ${host.name} fits on no other host under ${pct(bound)}`;
    }
    const before = target.load;
    const weight = c.weightOn(vm, target);
    c.migrate(vm, target, 'Consolidate',
      `migrate ${vm.name} ${host.name}→${target.name}: emptying ${host.name} (least loaded, ${pct(startLoad)}) since ${fitText}; ${target.name} ${pct(before)} + ${num(weight)} = ${pct(before + weight)} ≤ ${pct(bound)}`);
  }
  return null;
}

function done(emptied: number, why: string, blocked: string[]): ConsolidationOutcome {
  const prefix = emptied > 0 ? `emptied and powered off ${emptied} host${emptied === 1 ? '' : 's'}; then ` : '';
  const unique = [...new Set(blocked)];
  // Say what held the hosts passed over even when others were emptied: a plan that empties the
  // second-best host must say why not the first.
  const detail = unique.length ? ` (${listNames(unique)})` : '';
  return { emptied, summary: `${prefix}${why}${detail}` };
}
