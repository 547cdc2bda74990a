/**
 * `tsx bench/planetlab/planning-time.ts [--vms 1500] [--hosts 800] [--realistic] [--repeat 1] DAY_DIR...`:
 * how long one planning round takes at data-centre scale. Takes the first N traces across the
 * day folders (so 1,500 VMs can come from two days), runs each migrating strategy over the whole
 * trace in CloudSim's setup (`--realistic`: Tide's realistic mode) and reports wall-clock time of
 * plan() per round: mean, 95th percentile, max. `--repeat N` plans every round's snapshot N
 * times and keeps the fastest, so that a machine busy with other work inflates the figure less.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { readTraceDir, type Trace } from '../../src/sim/trace.ts';
import { TraceDatacentre } from '../../src/sim/datacentre/trace-datacentre.ts';
import { CLOUDSIM_SETUP } from '../../src/sim/datacentre/setup.ts';
import { MetricsRecorder } from '../../src/sim/metrics/recorder.ts';
import { DEFAULT_POLICY, plan } from '../../src/planner/plan.ts';
import type { Plan, StrategyName } from '../../src/planner/types.ts';

const { values, positionals } = parseArgs({
  options: {
    vms: { type: 'string', default: '1500' },
    hosts: { type: 'string', default: '800' },
    strategies: { type: 'string', default: 'lr-mmt,tide' },
    realistic: { type: 'boolean', default: false },
    repeat: { type: 'string', default: '1' },
  },
  allowPositionals: true,
});
const wanted = Number(values.vms);
const traces: Trace[] = [];
for (const dir of positionals) {
  for (const t of readTraceDir(dir)) if (traces.length < wanted) traces.push({ ...t, name: `${traces.length}-${t.name}` });
}
const setup = { ...CLOUDSIM_SETUP, hostCount: Number(values.hosts), cloudsimCompat: !values.realistic };
const repeat = Number(values.repeat);
if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat: expected a whole number of at least 1, got ${values.repeat}`);
for (const strategy of values.strategies!.split(',') as StrategyName[]) {
  const dc = new TraceDatacentre(traces, setup);
  const recorder = new MetricsRecorder(setup.cloudsimCompat);
  const times: number[] = [];
  for (let k = 0; k < dc.intervals; k++) {
    const snapshot = dc.snapshot(k);
    const policy = { ...DEFAULT_POLICY, minHostsOn: 0, strategy };
    let fastest = Infinity;
    let p: Plan | undefined;
    for (let i = 0; i < repeat; i++) {
      const t = performance.now();
      p = plan(snapshot, policy);
      fastest = Math.min(fastest, performance.now() - t);
    }
    times.push(fastest);
    recorder.migrations += dc.apply(p!, k);
    dc.run(k, recorder);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const mean = times.reduce((s, x) => s + x, 0) / times.length;
  console.log(`${strategy}${values.realistic ? ' (realistic)' : ''}: ${traces.length} VMs, ${setup.hostCount} hosts, ${times.length} rounds${repeat > 1 ? ` (fastest of ${repeat})` : ''}: plan() mean ${mean.toFixed(1)} ms, p95 ${sorted[Math.floor(sorted.length * 0.95)].toFixed(1)} ms, max ${sorted[sorted.length - 1].toFixed(1)} ms (round ${times.indexOf(sorted[sorted.length - 1])})`);
}
