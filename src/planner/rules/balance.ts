/**
 * Paper §3.2.2, the differencing load balance: d = hmax − hmin; while d ≥ 10 points, move a
 * VM whose load is at most d/2 from the most to the least loaded host, recompute, repeat.
 *
 * Choices where the paper is silent, each checked against §4.2 (80/40 → the 40 % VM moves →
 * 60/60):
 * - A VM's load counts in points of the host (see units.ts): the 40 % VM weighs 20 points.
 * - "At most d/2" is not strict: 20 ≤ 40/2 must qualify, or §4.2 would move nothing.
 * - Several qualify: the heaviest moves (ties by name) — the paper moved the 40 % VM, not a
 *   20 % one. It also closes the gap in the fewest migrations.
 * - On hosts of different sizes the VM must also weigh at most d/2 on the target. Then every
 *   move lowers Σ cores × load² by at least 100 × demand × d, so balancing cannot cycle.
 * - A VM that weighs nothing is never moved: it would not change d.
 * - When the most loaded host has nothing that may move to the least loaded one, it is set
 *   aside (or the least loaded one, if that host is what refuses) and the loop goes on with
 *   the others; each VM moves at most once per plan, so the loop ends.
 */
import { num, pct } from '../explain.ts';
import { hostRefuses, vmBlocked } from '../filters.ts';
import { firstAtMost, type ClusterState, type HostState, type VmState } from '../cluster.ts';
import { EPSILON } from '../units.ts';

export function balance(c: ClusterState): string {
  const threshold = c.policy.balanceThresholdPercent;
  const setAside: HostState[] = [];
  let moved = 0;
  let why = '';
  for (;;) {
    if (c.placement.size() < 2) {
      why = setAside.length ? 'no more VM can move between the hosts left' : 'fewer than 2 active hosts';
      break;
    }
    const hmin = c.placement.front()!.host;
    const hmax = c.placement.back()!.host;
    const d = hmax.load - hmin.load;
    if (d < threshold - EPSILON) {
      why = `${setAside.length ? 'among the hosts left, ' : ''}${hmax.name} ${pct(hmax.load)} vs ${hmin.name} ${pct(hmin.load)}, d = ${num(d)} < ${num(threshold)}`;
      break;
    }
    if (c.migrationCapReached()) {
      why = `d = ${num(d)} ≥ ${num(threshold)} but the cap of ${c.policy.maxMigrationsPerPlan} migrations is reached`;
      break;
    }
    const pick = pickVm(c, hmax, hmin, d);
    if (pick.vm) {
      const ws = c.weightOn(pick.vm, hmax);
      const [from, to] = [pct(hmax.load), pct(hmin.load)];
      c.migrate(pick.vm, hmin, 'Balance',
        `migrate ${pick.vm.name} ${hmax.name}→${hmin.name}: ${hmax.name} ${from} vs ${hmin.name} ${to}, d = ${num(d)} ≥ ${num(threshold)}, ${pick.vm.name} weighs ${num(ws)} points ≤ d/2 = ${num(d / 2)}`);
      moved++;
      continue;
    }
    // Nothing on hmax may go to hmin: set aside whichever of the two is the obstacle.
    const obstacle = pick.hmaxHasCandidates ? hmin : hmax;
    c.leavePlacement(obstacle);
    setAside.push(obstacle);
  }
  for (const host of setAside) c.enterPlacement(host);
  const head = moved ? `balanced with ${moved} migration${moved === 1 ? '' : 's'}; ` : '';
  return `${head}${why}`;
}

/**
 * The heaviest VM on hmax weighing at most d/2 on both hosts (and more than nothing) that may
 * move and that hmin takes. Reports whether hmax had any VM light enough and free to move.
 */
function pickVm(c: ClusterState, hmax: HostState, hmin: HostState, d: number): { vm: VmState | null; hmaxHasCandidates: boolean } {
  const maxDemand = ((d / 2) * Math.min(hmax.cores, hmin.cores)) / 100;
  let hmaxHasCandidates = false;
  for (let i = firstAtMost(hmax.vms, maxDemand); i < hmax.vms.length; i++) {
    const vm = hmax.vms[i];
    if (vm.demand <= EPSILON) break;
    if (vmBlocked(c, vm)) continue;
    hmaxHasCandidates = true;
    if (!hostRefuses(c, vm, hmin, 100)) return { vm, hmaxHasCandidates };
  }
  return { vm: null, hmaxHasCandidates };
}
