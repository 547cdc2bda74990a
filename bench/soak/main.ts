/**
 * `npm run soak -- --seed S --rounds R [--hosts H --vms V] [--converge-rounds K] [--json]`:
 * a seeded chaos soak of the whole operator (soak.ts). Progress goes to stderr; the last line
 * of stdout is one JSON object with the figures. A failing run is shrunk to the shortest fault
 * sequence that still fails (--no-shrink to skip), and exits 1. --max-wall-seconds ends the
 * fault phase early (the JSON's `rounds` says how many ran, `roundsAsked` how many were asked).
 */
import { parseArgs } from 'node:util';
import { describeFault, type FaultEvent } from './faults.ts';
import { shrinkFaults } from './shrink.ts';
import { runSoak, type SoakResult } from './soak.ts';

function int(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  return n;
}

const failed = (r: SoakResult) => r.violations > 0 || r.vmsLost > 0 || !r.converged;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      rounds: { type: 'string' },
      hosts: { type: 'string' },
      vms: { type: 'string' },
      'converge-rounds': { type: 'string' },
      'max-wall-seconds': { type: 'string' },
      json: { type: 'boolean', default: false },
      'no-shrink': { type: 'boolean', default: false },
    },
  });
  const seed = int('seed', values.seed, 1, 0);
  const rounds = int('rounds', values.rounds, 1000, 1);
  const hosts = int('hosts', values.hosts, 6, 2);
  const vms = int('vms', values.vms, 24, 2);
  const convergeRounds = int('converge-rounds', values['converge-rounds'], 240, 1);
  const maxWall = values['max-wall-seconds'] === undefined ? undefined : int('max-wall-seconds', values['max-wall-seconds'], 0, 1);
  const progress = (line: string) => process.stderr.write(`soak: ${line}\n`);
  const result = await runSoak({ seed, rounds, hosts, vms, convergeRounds, progress, ...(maxWall ? { maxWallSeconds: maxWall } : {}) });
  const { schedule, firstViolations, ...figures } = result;
  const human = values.json ? progress : (line: string) => process.stdout.write(`${line}\n`);
  for (const v of firstViolations) human(`VIOLATION ${v.kind} at ${new Date(v.atMs).toISOString()}: ${v.detail}`);
  let shortest: FaultEvent[] | undefined;
  if (failed(result) && !values['no-shrink']) {
    progress(`seed ${seed} failed; shrinking its ${schedule.length} faults`);
    const limit = result.firstViolationRound !== undefined ? Math.min(result.rounds, result.firstViolationRound + 1) : result.rounds;
    const candidates = schedule.filter((f) => f.round < limit);
    const shrunk = await shrinkFaults(candidates, async (subset) => {
      const r = await runSoak({ seed, rounds: limit, hosts, vms, convergeRounds, faults: subset, stopAtViolation: result.violations > 0 });
      return failed(r);
    });
    shortest = shrunk.faults;
    human(`shortest failing fault sequence (${shortest.length} of ${candidates.length} faults, ${shrunk.runs} runs):`);
    for (const f of shortest) human(`  ${describeFault(f)}`);
  }
  if (!values.json) {
    human(`seed ${seed}: ${figures.rounds} rounds of faults (of ${rounds} asked; ${figures.simulatedHours} simulated hours, ${figures.wallSeconds} s wall), ${figures.migrations} migrations, ${figures.powerActions} power commands, ${figures.operatorsStarted} operator processes`);
    human(`faults: ${Object.entries(figures.faults).map(([k, n]) => `${k} ${n}`).join(', ')}`);
    human(`violations ${figures.violations}, VMs lost ${figures.vmsLost}, converged ${figures.converged}${figures.convergedAfterRounds !== null ? ` after ${figures.convergedAfterRounds} rounds` : ''}`);
  }
  process.stdout.write(`${JSON.stringify({ ...figures, ...(shortest ? { shortestFaultSequence: shortest } : {}) })}\n`);
  return failed(result) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`soak: ${(err as Error).message}\n`);
    process.exit(2);
  },
);
