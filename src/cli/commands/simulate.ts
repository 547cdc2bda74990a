/**
 * `tide simulate`: runs the planner against the simulated data centre over simulated time and
 * reports every action with its reason, power over time and total energy.
 */
import { parseArgs } from 'node:util';
import type { CliCommand } from '../command.ts';
import { UserError } from '../command.ts';
import { BUILT_IN_SCENARIOS, loadScenario, ScenarioError, type Scenario } from '../../sim/scenario.ts';
import { readTraceDir, TraceError } from '../../sim/trace.ts';
import { traceScenario } from '../../sim/trace-scenario.ts';
import { runSimulation } from '../../sim/run.ts';
import { toJson, toText } from '../../sim/output.ts';
import { STRATEGIES } from '../../planner/strategies/index.ts';
import type { StrategyName } from '../../planner/types.ts';
import { simulateTraces, traceSimulationJson, traceSimulationText } from '../../sim/datacentre/simulate-trace.ts';
import { PlacementError } from '../../sim/datacentre/placement.ts';
import { HistoryError } from '../../sim/whatif/history-trace.ts';
import { readHistory, readPolicyFile } from '../../sim/whatif/load.ts';
import { whatIf } from '../../sim/whatif/whatif.ts';
import { parseTimeFlag } from '../../report/time-flags.ts';

const HELP = `usage: tide simulate (--scenario NAME|FILE | --trace DIR | --from-store DIR | --mongodb URI) [flags]

Runs the planner against a simulated data centre and reports every action with its reason,
power over time and the energy used.

  --scenario NAME|FILE  a built-in scenario (${BUILT_IN_SCENARIOS.join(', ')}) or a YAML file
  --trace DIR           PlanetLab traces, one VM per file (one CPU % per line, 5-minute steps);
                        with --scenario the VMs join its hosts; alone, they run on CloudSim's
                        PlanetLab data centre with its metrics (see docs/strategies.md)
  --hosts N             hosts for --trace without --scenario (default: CloudSim's 800)
  --realistic           --trace without --scenario: enforce host memory, keep idle VMs,
                        pre-copy migrations over shared links, hosts that take time to
                        boot and shut down (default: CloudSim compatibility)
  --duration SECONDS    simulate this long instead of the scenario's duration
  --strategy NAME       plan with this strategy (${[...STRATEGIES.keys()].join(', ')}) instead of the scenario's
  --from-store DIR      what-if: replay the VM loads Tide's history store in DIR recorded
                        (see docs/simulate.md), beside what actually happened
  --mongodb URI         the same from a MongoDB history store
  --policy FILE.yaml    what-if: plan with this ConsolidationPolicy (default: the planner's)
  --since, --until      what-if window: ISO times or durations ago (24h, 7d); default all
  --json                print one JSON document (see docs/simulate.md) instead of text`;

function positiveNumber(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new UserError(`--${flag} ${text}: expected a number greater than 0`);
  return value;
}

function buildScenario(values: { scenario?: string; trace?: string; hosts?: string }): Scenario {
  try {
    const base = values.scenario !== undefined ? loadScenario(values.scenario) : undefined;
    if (values.trace === undefined) return base!;
    const hosts = positiveNumber('hosts', values.hosts);
    if (hosts !== undefined && !Number.isInteger(hosts)) throw new UserError(`--hosts ${values.hosts}: expected a whole number`);
    return traceScenario(values.trace, readTraceDir(values.trace), { hosts, base });
  } catch (err) {
    if (err instanceof ScenarioError || err instanceof TraceError) throw new UserError(err.message);
    throw err;
  }
}

/** Progress on a terminal only: a single line rewritten in place, on stderr. */
function progressReporter(): { update: (done: number) => void; clear: () => void } {
  if (!process.stderr.isTTY) return { update: () => {}, clear: () => {} };
  let last = 0;
  return {
    update: (done) => {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      process.stderr.write(`\rsimulating… ${Math.floor(done * 100)} %`);
    },
    clear: () => process.stderr.write('\r\x1b[K'),
  };
}

export const command: CliCommand = {
  name: 'simulate',
  summary: 'run the planner against a simulated data centre and report power, actions and energy',
  async run(argv) {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        options: {
          scenario: { type: 'string' },
          trace: { type: 'string' },
          hosts: { type: 'string' },
          duration: { type: 'string' },
          strategy: { type: 'string' },
          realistic: { type: 'boolean', default: false },
          json: { type: 'boolean', default: false },
          'from-store': { type: 'string' },
          mongodb: { type: 'string' },
          policy: { type: 'string' },
          since: { type: 'string' },
          until: { type: 'string' },
          help: { type: 'boolean', short: 'h', default: false },
        },
        strict: true,
        allowPositionals: false,
      });
    } catch (err) {
      throw new UserError(`${(err as Error).message}\n\n${HELP}`);
    }
    const { values } = parsed;
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (values.strategy !== undefined && !STRATEGIES.has(values.strategy)) {
      throw new UserError(`--strategy ${values.strategy}: unknown strategy (known: ${[...STRATEGIES.keys()].join(', ')})`);
    }
    if (values['from-store'] !== undefined || values.mongodb !== undefined) return simulateHistory(values);
    for (const flag of ['policy', 'since', 'until'] as const) if (values[flag] !== undefined) throw new UserError(`--${flag} goes with --from-store DIR or --mongodb URI`);
    if (values.scenario === undefined && values.trace === undefined) {
      throw new UserError(`give --scenario NAME|FILE or --trace DIR (built-in scenarios: ${BUILT_IN_SCENARIOS.join(', ')})`);
    }
    if (values.trace !== undefined && values.scenario === undefined) return simulateCloudSimTraces(values);
    const scenario = buildScenario(values);
    const duration = positiveNumber('duration', values.duration);
    if (duration !== undefined) scenario.durationSeconds = duration;
    const progress = progressReporter();
    const result = runSimulation(scenario, { strategy: values.strategy as StrategyName | undefined, onProgress: progress.update });
    progress.clear();
    console.log(values.json ? JSON.stringify(toJson(result), null, 2) : toText(result));
    return 0;
  },
};

/** `--trace DIR` alone: the CloudSim-compatible data centre (src/sim/datacentre), Tide's strategy by default. */
function simulateCloudSimTraces(values: { trace?: string; hosts?: string; duration?: string; strategy?: string; realistic?: boolean; json?: boolean }): number {
  const hosts = positiveNumber('hosts', values.hosts);
  if (hosts !== undefined && !Number.isInteger(hosts)) throw new UserError(`--hosts ${values.hosts}: expected a whole number`);
  try {
    const sim = simulateTraces(values.trace!, readTraceDir(values.trace!), {
      strategy: (values.strategy ?? 'tide') as StrategyName,
      hosts,
      durationSeconds: positiveNumber('duration', values.duration),
      realistic: values.realistic,
    });
    console.log(values.json ? JSON.stringify(traceSimulationJson(sim), null, 2) : traceSimulationText(sim));
    return 0;
  } catch (err) {
    if (err instanceof TraceError || err instanceof PlacementError) throw new UserError(err.message);
    throw err;
  }
}

/** `--from-store DIR` / `--mongodb URI`: the what-if over Tide's own history (src/sim/whatif). */
async function simulateHistory(values: { 'from-store'?: string; mongodb?: string; policy?: string; since?: string; until?: string; strategy?: string; json?: boolean; scenario?: string; trace?: string }): Promise<number> {
  if (values.scenario !== undefined || values.trace !== undefined) throw new UserError('--from-store/--mongodb replay the store alone: leave out --scenario and --trace');
  if (values['from-store'] !== undefined && values.mongodb !== undefined) throw new UserError('give --from-store DIR or --mongodb URI, not both');
  try {
    const time = (flag: 'since' | 'until') => (values[flag] === undefined ? undefined : parseTimeFlag(flag, values[flag]!, 'wall', Date.now()));
    const range = { fromMs: time('since') ?? 0, toMs: time('until') ?? Number.MAX_SAFE_INTEGER };
    const history = await readHistory({ dataDir: values['from-store'], mongodbUri: values.mongodb }, range);
    const policy = values.policy !== undefined ? readPolicyFile(values.policy, Math.min(...history.hostSamples.map((s) => s.atMs))) : undefined;
    const strategy = (values.strategy ?? policy?.strategy ?? history.lastStrategy ?? 'tide') as StrategyName;
    if (!STRATEGIES.has(strategy)) throw new UserError(`the store's last decision used strategy ${strategy}, unknown here: give --strategy`);
    const source = values['from-store'] ?? 'MongoDB';
    const result = whatIf(history, { strategy, range, source, ...(policy ? { policy } : {}) });
    console.log(values.json ? JSON.stringify(result, null, 2) : whatIfText(result, strategy));
    return 0;
  } catch (err) {
    if (err instanceof HistoryError || err instanceof PlacementError) throw new UserError(err.message);
    if (err instanceof Error && /^--(since|until) /.test(err.message)) throw new UserError(err.message);
    throw err;
  }
}

function whatIfText(r: ReturnType<typeof whatIf>, strategy: string): string {
  const a = r.actual;
  const esv = (x: number) => (x === 0 ? '0' : x.toExponential(2));
  const rows: [string, string, string][] = [
    ['energy', `${(r.energyKWh * 1000).toFixed(1)} Wh`, `${a.energyWh.toFixed(1)} Wh${a.unmeasuredHostMinutes ? ` (+${a.unmeasuredHostMinutes} host-min unmetered)` : ''}`],
    ['migrations', String(r.migrations), String(a.migrations)],
    ['power-offs', String(r.actions.filter((x) => x.type === 'power-off').length), String(a.powerOffs)],
    [`overloaded (> ${r.overloadThresholdPercent} %)`, `${r.overloadedMinutes} host-min`, `${a.overloadedMinutes} host-min`],
    ['ESV', esv(r.sla.esv), esv(a.sla.esv)],
  ];
  const w = Math.max(...rows.map((x) => x[0].length));
  const v = Math.max('what-if'.length, ...rows.map((x) => x[1].length));
  return [
    `what-if over ${r.scenario}: ${r.window.from} → ${r.window.to} (${r.window.hosts} hosts, ${r.window.vms} VMs, observed every ${r.window.intervalSeconds} s), strategy ${strategy}`,
    '',
    `${''.padEnd(w)}  ${'what-if'.padEnd(v)}  actual`,
    ...rows.map(([k, x, y]) => `${k.padEnd(w)}  ${x.padEnd(v)}  ${y}`),
  ].join('\n');
}
