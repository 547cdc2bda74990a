/**
 * A day in a four-host cluster in the shape of `tide simulate --json` output, made from a
 * linear power model (idle 100 W, 250 W at full load, 5 W in standby): busy by day, two hosts
 * powered off overnight after their VMs were consolidated. Tests derive what they expect from
 * the same numbers independently of src/report.
 */
import type { SimulationOutput } from '../../src/report/from-simulation.ts';

export const IDLE_W = 100;
export const PEAK_W = 250;
export const STANDBY_W = 5;
export const STEP_S = 600;
export const STEPS = 144; // 24 h

export const watts = (load: number) => IDLE_W + ((PEAK_W - IDLE_W) * load) / 100;

/** Off between 01:00 and 07:00 (steps 6–41) for node3 and node4. */
export const isOff = (host: number, step: number) => host >= 3 && step >= 6 && step < 42;

/** Load of host 1..4 at a step: a daily curve, host 1 busiest; overnight the survivors take all of it. */
export function load(host: number, step: number): number {
  const hour = (step * STEP_S) / 3600;
  const day = 0.5 - 0.5 * Math.cos(((hour - 3) / 24) * 2 * Math.PI); // 0 at 03:00, 1 at 15:00
  const base = 20 + 70 * day - (host - 1) * 4;
  if (isOff(host, step)) return 0;
  return Math.round(step >= 6 && step < 42 ? Math.min(100, base * 2) : base);
}

export function paperDay(): SimulationOutput {
  const hostNames = [1, 2, 3, 4].map((i) => `node${i}`);
  const timeline = Array.from({ length: STEPS + 1 }, (_, step) => ({
    atSeconds: step * STEP_S,
    hosts: hostNames.map((name, i) => {
      const off = isOff(i + 1, step);
      return { name, powerState: off ? 'off' : 'on', cpuLoadPercent: load(i + 1, step), watts: off ? STANDBY_W : watts(load(i + 1, step)) };
    }),
  }));
  const last = timeline[STEPS].hosts;
  // The simulator's own total: each step's power held for one step.
  const energyWh = timeline.slice(0, STEPS).reduce((a, t) => a + t.hosts.reduce((b, h) => b + h.watts, 0) * (STEP_S / 3600), 0);
  return {
    scenario: 'paper-day',
    initialWatts: timeline[0].hosts.reduce((a, h) => a + h.watts, 0),
    finalWatts: last.reduce((a, h) => a + h.watts, 0),
    energyWh,
    hosts: last.map((h) => ({ ...h, vms: [] })),
    vms: [],
    actions: [
      { type: 'migrate', vm: 'vm-7', from: 'node3', to: 'node1', atSeconds: 5 * STEP_S + 60, reason: 'Consolidate: load 120 % fits under 80 % of 2 hosts' },
      { type: 'migrate', vm: 'vm-8', from: 'node4', to: 'node2', atSeconds: 5 * STEP_S + 120, reason: 'Consolidate: load 120 % fits under 80 % of 2 hosts' },
      { type: 'power-off', host: 'node3', atSeconds: 6 * STEP_S, reason: 'EmptyHost: node3 has no VM' },
      { type: 'power-off', host: 'node4', atSeconds: 6 * STEP_S, reason: 'EmptyHost: node4 has no VM' },
      { type: 'power-on', host: 'node3', atSeconds: 42 * STEP_S, reason: 'Overloaded: average load 84 % ≥ 80 %' },
      { type: 'power-on', host: 'node4', atSeconds: 42 * STEP_S, reason: 'Overloaded: average load 84 % ≥ 80 %' },
      { type: 'migrate', vm: 'vm-7', from: 'node1', to: 'node3', atSeconds: 43 * STEP_S, reason: 'Balance: d = 40 ≥ 10' },
    ],
    timeline,
  };
}
