/**
 * `tide plan`: what the planner would do with a snapshot (a JSON file, as the controller
 * records them) or with a scenario's starting state — every action with its sentence, and
 * the summary of why nothing more.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Ajv } from 'ajv';
import type { CliCommand } from '../command.ts';
import { UserError } from '../command.ts';
import { plan } from '../../planner/plan.ts';
import { SnapshotSchema } from '../../planner/snapshot-schema.ts';
import { STRATEGIES } from '../../planner/strategies/index.ts';
import type { Plan, PlannerPolicy, Snapshot, StrategyName } from '../../planner/types.ts';
import { ScenarioPolicy } from '../../sim/scenario-schema.ts';
import { BUILT_IN_SCENARIOS, loadScenario, policyFrom, ScenarioError } from '../../sim/scenario.ts';
import { createDataCentre } from '../../sim/run.ts';
import { snapshotOf } from '../../sim/snapshot.ts';
import { parseChecked } from '../../sim/yaml-errors.ts';

const HELP = `usage: tide plan (--snapshot FILE | --scenario NAME|FILE) [--policy FILE] [--strategy NAME] [--json]

Prints the plan the planner makes for one snapshot: each action with the sentence that
explains it, then why nothing more was done.

  --snapshot FILE       a snapshot as JSON: {atMs, hosts: [...], vms: [...]} (see docs/planner.md)
  --scenario NAME|FILE  the starting state of a scenario (${BUILT_IN_SCENARIOS.join(', ')} or a YAML file)
  --policy FILE         policy fields in YAML or JSON (strategy, overloadThresholdPercent, …);
                        default: the scenario's policy, or the paper's figures
  --strategy NAME       ${[...STRATEGIES.keys()].join(', ')}
  --json                print the plan as JSON`;

const ajv = new Ajv({ allErrors: false, strict: false });
const validateSnapshot = ajv.compile(SnapshotSchema);
const validatePolicy = ajv.compile(ScenarioPolicy);

function readText(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`--${flag} ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

function loadSnapshot(file: string): Snapshot {
  const { data, fail } = parseChecked<Snapshot>(readText(file, 'snapshot'), file, validateSnapshot, (m) => new UserError(m));
  const hosts = new Set<string>();
  data.hosts.forEach((h, i) => {
    if (hosts.has(h.name)) fail(['hosts', i, 'name'], `repeats host name ${h.name}`);
    hosts.add(h.name);
  });
  const vms = new Set<string>();
  data.vms.forEach((v, i) => {
    if (vms.has(v.name)) fail(['vms', i, 'name'], `repeats VM name ${v.name}`);
    vms.add(v.name);
    if (!hosts.has(v.host)) fail(['vms', i, 'host'], `names unknown host ${v.host}`);
  });
  return data;
}

function describe(p: Plan): string {
  const lines = p.actions.map((a, i) => `${String(i + 1).padStart(3)}. [${a.reason}] ${a.message}`);
  return [`plan (${p.strategy}): ${p.actions.length} action${p.actions.length === 1 ? '' : 's'}`, ...lines, `summary: ${p.summary}`].join('\n');
}

export const command: CliCommand = {
  name: 'plan',
  summary: 'print the plan for a snapshot or a scenario, each action with its reason',
  async run(argv) {
    let values;
    try {
      ({ values } = parseArgs({
        args: argv,
        options: {
          snapshot: { type: 'string' },
          scenario: { type: 'string' },
          policy: { type: 'string' },
          strategy: { type: 'string' },
          json: { type: 'boolean', default: false },
          help: { type: 'boolean', short: 'h', default: false },
        },
        strict: true,
      }));
    } catch (err) {
      throw new UserError(`${(err as Error).message}\n\n${HELP}`);
    }
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if ((values.snapshot === undefined) === (values.scenario === undefined)) throw new UserError(`give exactly one of --snapshot FILE and --scenario NAME|FILE\n\n${HELP}`);
    if (values.strategy !== undefined && !STRATEGIES.has(values.strategy)) {
      throw new UserError(`--strategy ${values.strategy}: unknown strategy (known: ${[...STRATEGIES.keys()].join(', ')})`);
    }
    let snapshot: Snapshot;
    let policy: PlannerPolicy = policyFrom({});
    if (values.snapshot !== undefined) snapshot = loadSnapshot(values.snapshot);
    else {
      try {
        const scenario = loadScenario(values.scenario!);
        snapshot = snapshotOf(createDataCentre(scenario));
        policy = scenario.policy;
      } catch (err) {
        if (err instanceof ScenarioError) throw new UserError(err.message);
        throw err;
      }
    }
    if (values.policy !== undefined) {
      const { data } = parseChecked<ScenarioPolicy>(readText(values.policy, 'policy'), values.policy, validatePolicy, (m) => new UserError(m));
      policy = policyFrom(data);
    }
    if (values.strategy !== undefined) policy = { ...policy, strategy: values.strategy as StrategyName };
    const result = plan(snapshot, policy);
    console.log(values.json ? JSON.stringify(result, null, 2) : describe(result));
    return 0;
  },
};
