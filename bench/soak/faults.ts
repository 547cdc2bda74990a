/**
 * The fault schedule: which fault happens at which round, drawn from the seed alone (pure), so
 * the same seed gives the same sequence and a failing sequence can be shrunk (shrink.ts).
 * Kinds are drawn in shuffled cycles, each cycle holding every kind once, so a soak of a few
 * hundred rounds already injects every kind.
 */
import { Rng } from './rng.ts';

export const FAULT_KINDS = [
  'operator-kill', // the process dies between two steps; a new one starts 0–3 rounds later
  'operator-kill-after-intent', // dies right after writing a migration or power intent, before the command
  'operator-kill-mid-migration', // dies while a live migration it started runs
  'operator-kill-mid-power-off', // dies while a host it switched off shuts down
  'second-operator', // a second replica runs alongside for a while (the Lease must fence one)
  'ssh-drop', // SSH connections to hosts drop: observations, migrations and power-offs fail
  'migration-fail', // the next migration fails at once
  'migration-timeout', // the next migration crawls and hits the policy's migrationTimeout
  'migration-abort', // the next migration is aborted half way
  'wake-fail', // the next Wake-on-LAN is lost: the host never boots
  'wake-late', // the next host to wake starts booting minutes late
  'meter-garbage', // meters send NaN, negative and absurd readings
  'meter-silent', // meters go quiet
  'api-409', // the API server answers writes with 409 Conflict
  'api-410', // the API server forgets its history and ends every watch: re-watches get 410 Gone
  'api-500', // the API server answers requests with 500
  'api-slow', // the API server answers late (hundreds of ms of wall time)
  'watch-cut', // every watch connection is cut
  'clock-jump', // simulated time jumps minutes ahead at once
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultEvent {
  round: number;
  kind: FaultKind;
  /** Rounds the fault lasts (windows) or until a killed operator is restarted. */
  rounds: number;
  /** A free draw for the fault's own choices (which operator, how long a jump, …). */
  draw: number;
}

/** Faults for rounds [0, rounds): one every `meanGap` rounds on average, kinds cycled. */
export function faultSchedule(seed: number, rounds: number, meanGap = 12): FaultEvent[] {
  const rng = new Rng(seed ^ 0x5eed5eed);
  const events: FaultEvent[] = [];
  let cycle: FaultKind[] = [];
  let round = rng.int(2, meanGap);
  while (round < rounds) {
    if (cycle.length === 0) cycle = rng.shuffle(FAULT_KINDS);
    const kind = cycle.pop()!;
    events.push({ round, kind, rounds: rng.int(1, 12), draw: rng.next() });
    round += rng.int(1, 2 * meanGap - 1);
  }
  return events;
}

export function describeFault(f: FaultEvent): string {
  return `round ${f.round}: ${f.kind} (${f.rounds} rounds, draw ${f.draw.toFixed(3)})`;
}
