/**
 * `tsx bench/planetlab/realistic-gap.ts DAY_DIR...`: where `tide`'s energy above the oracle's
 * packing goes in Tide's realistic mode (docs/strategies.md, "The goal of 2 %"). Per day it
 * prints:
 *
 * - the host models the oracle's reachable packing runs, averaged over the day's intervals
 *   (its packing of each interval, `cheapestPacking` in src/sim/oracle/packing.ts);
 * - `tide` as the bench runs it, with the host models it keeps on, and `tide` with core
 *   admission told each VM's busiest sample of the whole day: a clairvoyant experiment, asking whether knowing the peaks would be enough
 *   (CoreAdmission.admits is replaced in this process only; every other rule is the bench's).
 */
import { basename, resolve } from 'node:path';
import { readTraceDir } from '../../src/sim/trace.ts';
import { runTrace } from '../../src/sim/datacentre/run-trace.ts';
import { CLOUDSIM_SETUP } from '../../src/sim/datacentre/setup.ts';
import { hostPools } from '../../src/sim/oracle/power-bound.ts';
import { cheapestPacking, hostOrders } from '../../src/sim/oracle/packing.ts';
import { intervalCount, intervalVms, oracleVms } from '../../src/sim/oracle/workload.ts';
import { CoreAdmission } from '../../src/planner/power-aware/core-fit.ts';
import type { HostState, VmState } from '../../src/planner/cluster.ts';

const setup = { ...CLOUDSIM_SETUP, cloudsimCompat: false };
const days = process.argv.slice(2);
if (days.length === 0) {
  console.error('usage: tsx bench/planetlab/realistic-gap.ts DAY_DIR...');
  process.exit(2);
}

function packingModels(traces: ReturnType<typeof readTraceDir>): string {
  const pools = hostPools(setup);
  const orders = hostOrders(pools);
  const vms = oracleVms(traces, setup);
  const n = intervalCount(traces, setup);
  const mean = new Map<string, number>();
  for (let k = 0; k < n; k++) {
    const present = intervalVms(vms, setup, k);
    const best = cheapestPacking(present, orders, setup.intervalSeconds, setup.cloudsimCompat);
    if (!best) return 'no first-fit packing (the oracle falls back to the initial placement)';
    for (const host of best) mean.set(host.pool.model, (mean.get(host.pool.model) ?? 0) + 1 / n);
  }
  return [...mean].map(([model, hosts]) => `${hosts.toFixed(1)} × ${model}`).join(', ');
}

/** `tide` over the day, with the host models it ran: hosts on at each plan after the first, averaged. */
function tideRun(traces: ReturnType<typeof readTraceDir>): string {
  const modelOf = new Map(setup.hostTypes.map((t) => [t.coreMips, t.model]));
  const on = new Map<string, number>();
  let rounds = 0;
  const r = runTrace(traces, {
    strategy: 'tide', setup, initialPlacement: 'power-aware',
    onPlan: (snapshot) => {
      if (snapshot.atMs === 0) return;
      rounds++;
      for (const h of snapshot.hosts) {
        const model = modelOf.get(h.coreMips!)!;
        if (h.powerState === 'on') on.set(model, (on.get(model) ?? 0) + 1);
      }
    },
  });
  const models = [...on].map(([model, n]) => `${(n / rounds).toFixed(1)} × ${model}`).join(', ');
  return `${r.energyKWh.toFixed(2)} kWh, ${r.migrations} migrations, ESV ${(r.energyKWh * r.sla.slav).toExponential(2)}; hosts on after the first round: ${models}`;
}

const admits = CoreAdmission.prototype.admits;
for (const dir of days) {
  const day = basename(resolve(dir));
  const traces = readTraceDir(dir);
  console.log(`${day} oracle packing runs on average: ${packingModels(traces)}`);
  CoreAdmission.prototype.admits = admits;
  console.log(`${day} tide: ${tideRun(traces)}`);
  const peak = new Map(traces.map((t) => [t.name, Math.max(...t.samples)]));
  CoreAdmission.prototype.admits = function (host: HostState, vm: VmState): boolean {
    const core = host.snap.coreMips;
    const nominal = vm.snap.vcpuMips;
    if (core === undefined || nominal === undefined || core >= nominal) return true;
    return ((peak.get(vm.name) ?? 100) / 100) * nominal <= core;
  };
  console.log(`${day} tide, core admission told each VM's peak of the day: ${tideRun(traces)}`);
}
