/**
 * `npm run bench:planetlab -- DAY_DIR...`: every strategy on every PlanetLab day folder given,
 * in the CloudSim setup (800 hosts, 5-minute rounds, 24 h, CloudSim compatibility mode), plus
 * the oracle's two references (its lower bound and its reachable clairvoyant packing, see
 * src/sim/oracle) and, for comparison, the simple bound (all VMs, whole hosts at 100 %).
 * Prints a Markdown table and writes it as JSON.
 *
 *   --strategies a,b     which strategies (default: every registered one)
 *   --out FILE           JSON output (default: bench/planetlab/results.json)
 *   --reference FILE     CloudSim's own figures to print beside ours (default: a
 *                        cloudsim-reference.json two folders above the first day, else the one
 *                        in this folder)
 *   --realistic          Tide's realistic mode: memory enforced, idle hosts with VMs draw power,
 *                        pre-copy migrations over shared links, hosts that boot and shut down
 *                        (src/sim/datacentre/migration-model.ts); prints how long migrations took
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readTraceDir } from '../../src/sim/trace.ts';
import { runTrace } from '../../src/sim/datacentre/run-trace.ts';
import { CLOUDSIM_SETUP, DEFAULT_BOOT_SECONDS, DEFAULT_SHUTDOWN_SECONDS } from '../../src/sim/datacentre/setup.ts';
import { REALISTIC_PRECOPY } from '../../src/sim/datacentre/migration-model.ts';
import { oracleEnergy } from '../../src/sim/oracle/oracle.ts';
import { simpleBoundKWh } from '../../src/sim/oracle/simple-bound.ts';
import { STRATEGIES } from '../../src/planner/strategies/index.ts';
import type { StrategyName } from '../../src/planner/types.ts';
import { markdownTable, oracleRows, referenceRows, toRow, type BenchRow, type OracleKWh } from './table.ts';

const { values, positionals } = parseArgs({
  options: {
    strategies: { type: 'string' },
    out: { type: 'string', default: 'bench/planetlab/results.json' },
    reference: { type: 'string' },
    realistic: { type: 'boolean', default: false },
  },
  allowPositionals: true,
});
if (positionals.length === 0) {
  console.error('usage: npm run bench:planetlab -- [--strategies a,b] [--out FILE] [--realistic] DAY_DIR...');
  process.exit(2);
}
const strategies = (values.strategies?.split(',') ?? [...STRATEGIES.keys()]) as StrategyName[];
for (const s of strategies) {
  if (!STRATEGIES.has(s)) {
    console.error(`unknown strategy ${s} (known: ${[...STRATEGIES.keys()].join(', ')})`);
    process.exit(2);
  }
}
const setup = { ...CLOUDSIM_SETUP, cloudsimCompat: !values.realistic };
const rows: BenchRow[] = [];
const migrationTimes: string[] = [];
const oracle = new Map<string, OracleKWh>();
const started = Date.now();
for (const dir of positionals) {
  const day = basename(resolve(dir));
  const traces = readTraceDir(dir);
  const t0 = Date.now();
  const bound = { ...oracleEnergy(traces, setup), simpleKWh: simpleBoundKWh(traces, setup) };
  oracle.set(day, bound);
  rows.push(...oracleRows(day, bound, traces.length));
  process.stderr.write(`${day} oracle: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  for (const strategy of strategies) {
    const t = Date.now();
    // CloudSim's no-migration baseline (DVFS) places VMs first fit; its migrating policies power-aware.
    const result = runTrace(traces, { strategy, setup, initialPlacement: strategy === 'npa' ? 'first-fit' : 'power-aware' });
    rows.push(toRow(day, result, bound));
    const took = [...result.datacentre.migrationSeconds].sort((a, b) => a - b);
    if (values.realistic && took.length) {
      const mean = took.reduce((s, t) => s + t, 0) / took.length;
      migrationTimes.push(`| ${day} | ${strategy} | ${took.length} | ${mean.toFixed(1)} | ${took[Math.floor(took.length / 2)].toFixed(1)} | ${took[Math.min(took.length - 1, Math.floor(took.length * 0.95))].toFixed(1)} | ${took[took.length - 1].toFixed(1)} |`);
    }
    process.stderr.write(`${day} ${strategy}: ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
  }
}
console.log(markdownTable(rows));
if (migrationTimes.length) {
  console.log(`\nMigration time in realistic mode, s (pre-copy over shared links; finished migrations):\n\n| day | strategy | finished | mean | median | p95 | max |\n|:--|:--|--:|--:|--:|--:|--:|\n${migrationTimes.join('\n')}`);
}
const besideDays = join(dirname(dirname(resolve(positionals[0]))), 'cloudsim-reference.json');
const referenceFile = values.reference ?? (existsSync(besideDays) ? besideDays : fileURLToPath(new URL('cloudsim-reference.json', import.meta.url)));
let reference: BenchRow[] = [];
if (!values.realistic && existsSync(referenceFile)) {
  reference = referenceRows(JSON.parse(readFileSync(referenceFile, 'utf8')), [...oracle.keys()], oracle);
  if (reference.length) console.log(`\nCloudSim 3.0.3's own figures on the same days (${referenceFile}):\n\n${markdownTable(reference)}`);
}
const realisticWorld = values.realistic ? { migration: REALISTIC_PRECOPY, bootSeconds: DEFAULT_BOOT_SECONDS, shutdownSeconds: DEFAULT_SHUTDOWN_SECONDS } : {};
writeFileSync(values.out!, `${JSON.stringify({ setup: { ...setup, hostTypes: setup.hostTypes.map((h) => h.model), ...realisticWorld }, rows, cloudsim: reference, seconds: (Date.now() - started) / 1000 }, null, 1)}\n`);
console.log(`\n${rows.length} rows in ${((Date.now() - started) / 1000).toFixed(0)} s; JSON in ${values.out}`);
