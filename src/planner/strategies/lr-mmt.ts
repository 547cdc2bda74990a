/**
 * lr-mmt: Beloglazov & Buyya's (2012) LR-MMT 1.2, the strongest heuristic of their study, as
 * CloudSim 3.0.3 runs it: local-regression overload detection with safety 1.2 (for both
 * detecting overload and admitting a VM on a target), minimum migration time selection,
 * power-aware best fit, and every host below 100 % a candidate for emptying
 * (power-aware/consolidation.ts has the steps).
 *
 * Where CloudSim's code has a bug that lets a host receive a VM and be emptied in the same
 * round (moving that VM twice), lr-mmt does what CloudSim means: receivers are not emptied.
 * CloudSim switches a host off when it is empty and on when it receives a VM; lr-mmt's plans
 * say so (power-aware/power.ts): emptied hosts are powered off, and a host is powered on when
 * VMs on overloaded hosts find no target.
 */
import { OverloadDetector } from '../power-aware/overload.ts';
import { evacuateUnderloadedHosts, relieveOverloadedHosts } from '../power-aware/consolidation.ts';
import { powerOffEmptyHosts } from '../power-aware/power.ts';
import type { PlacementRules } from '../power-aware/placement.ts';
import type { ClusterState } from '../cluster.ts';
import type { Strategy } from '../strategy.ts';

export function beloglazovRules(c: ClusterState): PlacementRules {
  return { c, startLoad: new Map(c.hosts.map((h) => [h, h.load])), overload: new OverloadDetector() };
}

export const lrMmt: Strategy = {
  name: 'lr-mmt',
  description: 'Beloglazov & Buyya LR-MMT 1.2: local-regression overload detection, minimum migration time, power-aware best fit',
  plan(c) {
    const rules = beloglazovRules(c);
    const relief = relieveOverloadedHosts(rules, rules);
    const evacuation = evacuateUnderloadedHosts(rules, relief.overloaded, relief.receivers);
    return `lr-mmt: ${relief.summary}; ${evacuation}; ${powerOffEmptyHosts(c)}`;
  },
};
