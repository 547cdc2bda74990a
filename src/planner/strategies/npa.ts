/**
 * No power awareness: the baseline the energy figures are compared against. It leaves the
 * cluster as it is and only fixes hard violations (pinned VMs away, hosts over capacity).
 */
import { repairHardViolations } from '../repairs.ts';
import type { Strategy } from '../strategy.ts';

export const npa: Strategy = {
  name: 'npa',
  description: 'no power management: only fixes hard violations',
  plan(c) {
    repairHardViolations(c);
    return 'npa strategy: no balancing, no consolidation, no power actions';
  },
};
