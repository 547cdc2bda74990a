/** Every strategy the planner knows. Adding one is adding its file and a line here. */
import { npa } from './npa.ts';
import { paper } from './paper.ts';
import { lrMmt } from './lr-mmt.ts';
import { tide } from './tide.ts';
import type { Strategy } from '../strategy.ts';

export const STRATEGIES: ReadonlyMap<string, Strategy> = new Map([paper, npa, lrMmt, tide].map((s) => [s.name, s]));
