/** Flags `tide dev` and `tide run` share, read with the user's mistakes turned into UserErrors. */
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
