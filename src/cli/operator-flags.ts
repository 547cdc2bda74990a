/** Flags `tide dev` and `tide run` share, read with the user's mistakes turned into UserErrors. */
import { parseLabelSelector } from '../api/label-selector.ts';
import type { LogFormat } from '../controller/log.ts';
import { loadScenario, ScenarioError, type Scenario } from '../sim/scenario.ts';
import { UserError } from './command.ts';

export function logFormatFlag(value: string | undefined): LogFormat {
  if (value !== 'text' && value !== 'json') throw new UserError(`--log-format: expected text or json, got '${value}'`);
  return value;
}

/** A built-in scenario name or a scenario file; a bad one is reported with file, line and field. */
export function scenarioFlag(nameOrPath: string): Scenario {
  try {
    return loadScenario(nameOrPath);
  } catch (err) {
    throw err instanceof ScenarioError ? new UserError(err.message) : err;
  }
}

/** `--policy-selector`: a label selector, checked here so a typo stops the start, not a round. Empty means none. */
export function policySelectorFlag(value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  try {
    parseLabelSelector(value);
  } catch (err) {
    throw new UserError(`--policy-selector: ${(err as Error).message}`);
  }
  return value.trim();
}

/** `--leader-election-id`: a Lease name (a DNS subdomain: lowercase letters, digits, '-' and '.'). */
export function leaderElectionIdFlag(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (value.length > 253 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(value)) {
    throw new UserError(`--leader-election-id: '${value}' is not a valid Lease name (lowercase letters, digits, '-' and '.', at most 253)`);
  }
  return value;
}
