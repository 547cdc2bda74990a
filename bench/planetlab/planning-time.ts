/**
 * `tsx bench/planetlab/planning-time.ts [--vms 1500] [--hosts 800] DAY_DIR...`: how long one
 * planning round takes at data-centre scale. Takes the first N traces across the day folders
 * (so 1,500 VMs can come from two days), runs each migrating strategy over the whole trace in
 * CloudSim's setup and reports wall-clock time of plan() per round: mean, 95th percentile, max.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { readTraceDir, type Trace } from '../../src/sim/trace.ts';
import { TraceDatacentre } from '../../src/sim/datacentre/trace-datacentre.ts';
import { CLOUDSIM_SETUP } from '../../src/sim/datacentre/setup.ts';
import { MetricsRecorder } from '../../src/sim/metrics/recorder.ts';
import { DEFAULT_POLICY, plan } from '../../src/planner/plan.ts';
import type { StrategyName } from '../../src/planner/types.ts';

const { values, positionals } = parseArgs({
  options: { vms: { type: 'string', default: '1500' }, hosts: { type: 'string', default: '800' }, strategies: { type: 'string', default: 'lr-mmt,tide' } },
  allowPositionals: true,
});
const wanted = Number(values.vms);
const traces: Trace[] = [];
for (const dir of positionals) {
  for (const t of readTraceDir(dir)) if (traces.length < wanted) traces.push({ ...t, name: `${traces.length}-${t.name}` });
}
const setup = { ...CLOUDSIM_SETUP, hostCount: Number(values.hosts) };
for (const strategy of values.strategies!.split(',') as StrategyName[]) {
  const dc = new TraceDatacentre(traces, setup);
  const recorder = new MetricsRecorder(true);
  const times: number[] = [];
  for (let k = 0; k < dc.intervals; k++) {
    const snapshot = dc.snapshot(k);
    const t = performance.now();
    const p = plan(snapshot, { ...DEFAULT_POLICY, minHostsOn: 0, strategy });
    times.push(performance.now() - t);
    recorder.migrations += dc.apply(p, k);
    dc.run(k, recorder);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const mean = times.reduce((s, x) => s + x, 0) / times.length;
  console.log(`${strategy}: ${traces.length} VMs, ${setup.hostCount} hosts, ${times.length} rounds: plan() mean ${mean.toFixed(1)} ms, p95 ${sorted[Math.floor(sorted.length * 0.95)].toFixed(1)} ms, max ${sorted[sorted.length - 1].toFixed(1)} ms (round ${times.indexOf(sorted[sorted.length - 1])})`);
}
