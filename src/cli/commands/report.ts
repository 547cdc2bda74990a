import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { CliCommand } from '../command.ts';
import { UserError } from '../command.ts';
import { buildReport } from '../../report/analyse.ts';
import { parseSimulationOutput, simulationToReportInput } from '../../report/from-simulation.ts';
import { storeToReportInput } from '../../report/from-store.ts';
import { renderHtml } from '../../report/html.ts';
import type { ReportInput } from '../../report/model.ts';
import { renderTable } from '../../report/table.ts';
import { parseTimeFlag } from '../../report/time-flags.ts';
import { defaultDataDir, openHistoryStore } from '../../store/open-store.ts';

const HELP = `usage: tide report [--store DIR | --mongodb URI | --from-json FILE] [--html OUT.html]
                   [--since T] [--until T] [--overload-threshold PCT] [--idle-watts HOST=W ...]

Energy per host and in total, the saving against all hosts kept on, migrations and power
actions with their reasons, and time overloaded: a table on the terminal and, with --html,
a self-contained page with charts.

  --store DIR          the embedded history store (default: $TIDE_DATA_DIR or ${defaultDataDir()})
  --mongodb URI        a MongoDB history store (default: $MONGODB_URI when set)
  --from-json FILE     the output of 'tide simulate --json' (its "timeline" drives the charts)
  --html OUT.html      also write the page there
  --since, --until     ISO times or durations ago (24h, 7d); for --from-json, durations since
                       the simulation started (default: everything)
  --overload-threshold a host is overloaded at or above this CPU load (default 80, the paper's Th1)
  --idle-watts HOST=W  a host's idle power, instead of estimating it from its readings`;

function parseIdleWatts(values: string[]): Record<string, number> {
  const result: Record<string, number> = {};
  for (const v of values) {
    const m = /^([^=]+)=(\d+(?:\.\d+)?)$/.exec(v);
    if (!m) throw new UserError(`--idle-watts '${v}': expected HOST=WATTS, e.g. node1=95`);
    result[m[1]] = Number(m[2]);
  }
  return result;
}

async function loadInput(values: Record<string, string | string[] | boolean | undefined>, threshold: number | undefined): Promise<ReportInput> {
  const time = (flag: 'since' | 'until', axis: 'wall' | 'elapsed') => {
    const text = values[flag] as string | undefined;
    if (text === undefined) return undefined;
    try {
      return parseTimeFlag(flag, text, axis, Date.now());
    } catch (err) {
      throw new UserError((err as Error).message);
    }
  };
  const file = values['from-json'] as string | undefined;
  if (file !== undefined) {
    const text = await readFile(file, 'utf8').catch((err: Error) => {
      throw new UserError(`--from-json ${file}: ${err.message}`);
    });
    let input: ReportInput;
    try {
      input = simulationToReportInput(parseSimulationOutput(text, file), threshold);
    } catch (err) {
      throw new UserError((err as Error).message);
    }
    return { ...input, window: { fromMs: time('since', 'elapsed'), toMs: time('until', 'elapsed') } };
  }
  // Flags first: a mistyped --since is reported as such, whatever the store.
  const range = { fromMs: time('since', 'wall') ?? 0, toMs: time('until', 'wall') ?? Number.MAX_SAFE_INTEGER };
  const mongodbUri = (values.mongodb as string | undefined) ?? (values.store ? undefined : process.env.MONGODB_URI);
  const dataDir = (values.store as string | undefined) ?? defaultDataDir();
  if (!mongodbUri && !existsSync(dataDir)) {
    throw new UserError(`no history store at ${dataDir} (give --store DIR, --mongodb URI or --from-json FILE)`);
  }
  // A store has history/ (written when a writer opens it) or samples/; any other folder is a mistake, not an empty report.
  if (!mongodbUri && !['history', 'samples'].some((d) => existsSync(join(dataDir, d)))) {
    throw new UserError(`${dataDir} is not a Tide history store (no history/ or samples/ in it): give the --data-dir 'tide run' or 'tide dev' wrote to`);
  }
  const store = await openHistoryStore({ mongodbUri: mongodbUri ?? '', dataDir, readOnly: true });
  try {
    return await storeToReportInput(store, range, mongodbUri ? 'MongoDB history' : `history in ${dataDir}`, threshold);
  } finally {
    await store.close();
  }
}

export const command: CliCommand = {
  name: 'report',
  summary: 'energy used and saved, migrations and their reasons: a table, and an HTML page with charts',
  async run(argv) {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        options: {
          store: { type: 'string' },
          mongodb: { type: 'string' },
          'from-json': { type: 'string' },
          html: { type: 'string' },
          since: { type: 'string' },
          until: { type: 'string' },
          'overload-threshold': { type: 'string' },
          'idle-watts': { type: 'string', multiple: true },
          help: { type: 'boolean', short: 'h' },
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
    const sources = ['store', 'mongodb', 'from-json'].filter((k) => values[k as keyof typeof values] !== undefined);
    if (sources.length > 1) throw new UserError(`give one of --store, --mongodb, --from-json, not ${sources.map((s) => `--${s}`).join(' and ')}`);
    let threshold: number | undefined;
    if (values['overload-threshold'] !== undefined) {
      threshold = Number(values['overload-threshold']);
      if (!(threshold > 0 && threshold <= 100)) throw new UserError(`--overload-threshold '${values['overload-threshold']}': expected a percentage in (0, 100]`);
    }
    // Checked before the work: a page that cannot be written should not cost a report first.
    if (values.html && !existsSync(dirname(resolve(values.html)))) throw new UserError(`--html ${values.html}: no such directory ${dirname(resolve(values.html))}`);
    const input = await loadInput(values, threshold);
    const report = buildReport({ ...input, idleWatts: parseIdleWatts(values['idle-watts'] ?? []) });
    process.stdout.write(renderTable(report));
    if (values.html) {
      await writeFile(values.html, renderHtml(report)).catch((err: Error) => {
        throw new UserError(`--html ${values.html}: ${err.message}`);
      });
      console.error(`wrote ${values.html}`);
    }
    return 0;
  },
};
