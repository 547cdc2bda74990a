/**
 * The paper's decision-making mechanism (§3.2): over Th1 power a host on (or alert), under
 * Th2 consolidate, otherwise balance. Hard violations (pinned VMs away, hosts over capacity)
 * are fixed first, as in every strategy.
 *
 * When overloaded, the active hosts are balanced too: the new host takes VMs only once it has
 * booted, and meanwhile spreading the load is all that helps. After a consolidation the round
 * ends, as the paper's if/else does; balancing waits for the next round.
 */
import { repairHardViolations } from '../repairs.ts';
import { relieveOverload } from '../rules/overload.ts';
import { consolidate } from '../rules/consolidate.ts';
import { balance } from '../rules/balance.ts';
import type { Strategy } from '../strategy.ts';

export const paper: Strategy = {
  name: 'paper',
  description: 'the paper rules: Th1 power-on, Th2 consolidation, differencing balance',
  plan(c) {
    repairHardViolations(c);
    const overload = relieveOverload(c);
    if (!overload.overloaded) {
      const consolidation = consolidate(c);
      if (consolidation.emptied > 0) return `${overload.summary}; ${consolidation.summary}`;
      return `${overload.summary}; ${consolidation.summary}; ${balance(c)}`;
    }
    return `${overload.summary}; ${balance(c)}`;
  },
};
