/**
 * A strategy turns a cluster state into actions. Adding one is adding a file under
 * strategies/ and a line in strategies/index.ts; the rules it may compose live in rules/
 * (overload, consolidate, balance), the checks in filters.ts and the choices in scoring.ts.
 */
import type { ClusterState } from './cluster.ts';
import type { StrategyName } from './types.ts';

export interface Strategy {
  name: StrategyName;
  /** One line for docs and help texts. */
  description: string;
  /** Records its actions in `c` and returns the plan's summary: why nothing (more) was done. */
  plan(c: ClusterState): string;
}
