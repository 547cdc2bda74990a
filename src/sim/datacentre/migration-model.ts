/**
 * Realistic mode's live migrations: pre-copy rounds over host links shared fairly. Pure — times
 * are passed in, nothing reads a clock.
 *
 * Pre-copy (QEMU's default live migration, and Xen's): after a fixed start-up the first round
 * sends all of the VM's memory while it runs; each later round sends the pages dirtied during
 * the previous one. When what is left would go within the downtime limit at the current rate,
 * the VM is paused and the rest sent (stop-and-copy); the migration then ends. The VM dirties
 * pages in proportion to its CPU load (an assumption: a busy VM writes more memory; the rate
 * saturates at the VM's whole memory per round, since a page dirtied twice is sent once).
 *
 * A VM that dirties as fast as its share of the link never gets there. QEMU alone would go on
 * pre-copying (until Tide's policy migrationTimeout aborts it); this model, like Xen's
 * xc_domain_save, stops pre-copying after `maxRounds` rounds or once `maxSentFactor` × its
 * memory has been sent, and forces the stop-and-copy: the migration ends, with a downtime
 * beyond the limit that the result reports (`forced`, `downtimeSeconds`).
 *
 * Links: each host has one link, of which migrations may use `linkShare` (CloudSim's
 * PowerDatacenter uses half: "the other half of BW is for VM communication"). A migration uses
 * its source's and its destination's link; the rates are max-min fair (progressive filling): a
 * host's share is split equally among the migrations through it, in or out, and what a
 * migration cannot use because its other end is busier goes to the rest.
 *
 * Units follow CloudSim's, which divides MB by Mbit/s / 8: a 1,000 Mbit/s link at half carries
 * 62.5 MiB/s here.
 */

export interface PreCopyParams {
  /** Seconds from the migration's request to its first byte (set-up on both hosts). */
  setupSeconds: number;
  /** Pause allowed for the final copy (QEMU's downtime-limit). */
  downtimeLimitSeconds: number;
  /** Pre-copy rounds before the stop-and-copy is forced (Xen: 30). */
  maxRounds: number;
  /** Pre-copy stops once this many times the VM's memory has been sent (Xen: 3). */
  maxSentFactor: number;
  /** MiB/s one vCPU dirties at 100 % load; a VM at load L % with V vCPUs dirties L/100 × V × this. */
  dirtyMiBPerBusyVcpuSecond: number;
  /** Share of a host's link live migrations may use (CloudSim: half). */
  linkShare: number;
}

/**
 * Tide's realistic-mode parameters and where they come from (docs/strategies.md, "Migrations in
 * realistic mode"):
 * - setupSeconds 0.78: Tide's measured start-up, request → migration job running on the source
 *   (docs/hypervisor.md, bench/migration.bench.ts, median of the warm migrations);
 * - downtimeLimitSeconds 0.3: QEMU's default downtime-limit (DEFAULT_MIGRATE_SET_DOWNTIME, 300 ms,
 *   migration/options.c); Tide runs `virsh migrate --live` without changing it;
 * - maxRounds 30, maxSentFactor 3: Xen's xc_domain_save defaults (DEF_MAX_ITERS 29, i.e. 30
 *   rounds; DEF_MAX_FACTOR 3), since QEMU has no cap of its own;
 * - dirtyMiBPerBusyVcpuSecond 3.7: fitted to the lab's measured migrations of a 96 MiB guest
 *   (docs/e2e-lab.md, docs/hypervisor.md): libvirt's job took 2.5 s (median) idle and 2.6 s at
 *   40 % load. Taking the idle job as one round at 96 / 2.5 = 38.4 MiB/s, the busy one sent
 *   2.6 / 2.5 × as much, a dirty-to-link ratio of 1 − 2.5 / 2.6 = 0.038: 1.48 MiB/s at 40 % of
 *   one vCPU, 3.7 MiB/s at 100 %. Weakly determined (the measured ranges, 2.0–3.2 s and
 *   1.9–3.8 s, overlap);
 * - linkShare 0.5: CloudSim's, so that an idle VM alone takes what it took before plus the
 *   set-up (1,740 MiB over 1 Gbit/s: 27.84 s + 0.78 s).
 */
export const REALISTIC_PRECOPY: Readonly<PreCopyParams> = Object.freeze({
  setupSeconds: 0.78,
  downtimeLimitSeconds: 0.3,
  maxRounds: 30,
  maxSentFactor: 3,
  dirtyMiBPerBusyVcpuSecond: 3.7,
  linkShare: 0.5,
});

/** MiB/s a VM at `loadPercent` with `vcpus` vCPUs dirties (see REALISTIC_PRECOPY). */
export function dirtyMiBps(loadPercent: number, vcpus: number, params: PreCopyParams): number {
  return (Math.max(0, loadPercent) / 100) * vcpus * params.dirtyMiBPerBusyVcpuSecond;
}

/** MiB/s of a host's link live migrations may use, from its bandwidth in Mbit/s. */
export function linkMiBps(bandwidthMbps: number, params: PreCopyParams): number {
  return (bandwidthMbps * params.linkShare) / 8;
}

export interface MigrationRequest {
  /** The caller's key for the migration (one live migration per id at a time). */
  id: number;
  source: number;
  destination: number;
  memoryMiB: number;
  dirtyMiBps: number;
}

export interface MigrationOutcome {
  id: number;
  endsAt: number;
  /** Pre-copy rounds, the first full copy included (the stop-and-copy is not a round). */
  rounds: number;
  sentMiB: number;
  /** How long the VM was paused for the stop-and-copy. */
  downtimeSeconds: number;
  /** The stop-and-copy came from the round or volume cap, not from reaching the downtime limit. */
  forced: boolean;
}

interface Flow extends MigrationRequest {
  copyFrom: number;
  phase: 'setup' | 'precopy' | 'stop-and-copy';
  rounds: number;
  /** MiB still to send in the current round (or the stop-and-copy). */
  leftMiB: number;
  /** Seconds the current round has run: the VM dirties pages meanwhile. */
  roundSeconds: number;
  sentMiB: number;
  forced: boolean;
  pausedAt?: number;
}

/** Events closer than this (seconds) are taken together, so float noise makes no extra steps. */
const EPSILON = 1e-9;

/**
 * The live migrations in flight and the links they share. `start` adds migrations at a time,
 * `advance` moves time on (completing what ends by then), `predict` says when each in-flight
 * migration ends if no other starts — exact, since rates change only when one starts or ends.
 */
export class PreCopyNetwork {
  private flows: Flow[] = [];
  private now = 0;
  private readonly done: MigrationOutcome[] = [];

  constructor(
    /** MiB/s migrations may use on each host's link, by host index. */
    private readonly hostLinkMiBps: (host: number) => number,
    readonly params: PreCopyParams = REALISTIC_PRECOPY,
  ) {}

  get time(): number {
    return this.now;
  }

  get inFlight(): number {
    return this.flows.length;
  }

  start(at: number, request: MigrationRequest): void {
    if (at < this.now - EPSILON) throw new Error(`migration ${request.id} starts at ${at} s, before the network's time ${this.now} s`);
    if (this.flows.some((f) => f.id === request.id)) throw new Error(`migration ${request.id} is already in flight`);
    if (request.source === request.destination) throw new Error(`migration ${request.id} has the same source and destination (host ${request.source})`);
    if (!(request.memoryMiB >= 0) || !(request.dirtyMiBps >= 0)) throw new Error(`migration ${request.id}: memory ${request.memoryMiB} MiB and dirty rate ${request.dirtyMiBps} MiB/s must be ≥ 0`);
    this.advance(at);
    this.flows.push({ ...request, copyFrom: at + this.params.setupSeconds, phase: 'setup', rounds: 0, leftMiB: 0, roundSeconds: 0, sentMiB: 0, forced: false });
  }

  /** Forgets a migration (the run gave it up); returns whether it was in flight. */
  remove(id: number): boolean {
    const before = this.flows.length;
    this.flows = this.flows.filter((f) => f.id !== id);
    return this.flows.length < before;
  }

  /** Moves time to `to`; returns the migrations that ended on the way, in the order they ended. */
  advance(to: number): MigrationOutcome[] {
    const before = this.done.length;
    while (this.flows.length > 0) {
      const rates = this.rates();
      const next = Math.min(...this.flows.map((f) => this.untilEvent(f, rates.get(f.id) ?? 0)));
      if (next === Infinity && to === Infinity) throw new Error('live migrations cannot progress: a host link carries 0 MiB/s');
      if (this.now + next > to) {
        this.progress(to - this.now, rates);
        break;
      }
      this.progress(next, rates);
      this.settle(rates);
    }
    this.now = Math.max(this.now, to);
    return this.done.slice(before);
  }

  /** When each migration in flight ends if none starts meanwhile (the network is not changed). */
  predict(): MigrationOutcome[] {
    const copy = new PreCopyNetwork(this.hostLinkMiBps, this.params);
    copy.now = this.now;
    copy.flows = this.flows.map((f) => ({ ...f }));
    return copy.advance(Infinity);
  }

  /** Max-min fair rates (MiB/s) of the migrations past their set-up, by id. */
  private rates(): Map<number, number> {
    const rates = new Map<number, number>();
    const copying = this.flows.filter((f) => f.phase !== 'setup');
    const capacity = new Map<number, number>();
    const users = new Map<number, number>();
    for (const f of copying) {
      for (const h of [f.source, f.destination]) {
        if (!capacity.has(h)) capacity.set(h, this.hostLinkMiBps(h));
        users.set(h, (users.get(h) ?? 0) + 1);
      }
    }
    let open = copying;
    while (open.length > 0) {
      // The busiest link fixes the rate of every migration through it.
      let host = -1;
      let fair = Infinity;
      for (const [h, n] of users) {
        if (n > 0 && capacity.get(h)! / n < fair) [host, fair] = [h, capacity.get(h)! / n];
      }
      const fixed = open.filter((f) => f.source === host || f.destination === host);
      for (const f of fixed) {
        rates.set(f.id, fair);
        for (const h of [f.source, f.destination]) {
          capacity.set(h, Math.max(0, capacity.get(h)! - fair));
          users.set(h, users.get(h)! - 1);
        }
      }
      open = open.filter((f) => !fixed.includes(f));
    }
    return rates;
  }

  private untilEvent(f: Flow, rate: number): number {
    if (f.phase === 'setup') return Math.max(0, f.copyFrom - this.now);
    return rate > 0 ? f.leftMiB / rate : Infinity;
  }

  private progress(seconds: number, rates: Map<number, number>): void {
    if (seconds <= 0) return;
    for (const f of this.flows) {
      if (f.phase === 'setup') continue;
      const sent = Math.min(f.leftMiB, (rates.get(f.id) ?? 0) * seconds);
      f.leftMiB -= sent;
      f.sentMiB += sent;
      f.roundSeconds += seconds;
    }
    this.now += seconds;
  }

  /** Ends the set-ups, rounds and stop-and-copies that are due now. */
  private settle(rates: Map<number, number>): void {
    const ended = new Set<Flow>();
    for (const f of this.flows) {
      const rate = rates.get(f.id) ?? 0;
      if (f.phase === 'setup') {
        if (f.copyFrom - this.now > EPSILON) continue;
        f.phase = 'precopy';
        f.rounds = 1;
        f.leftMiB = f.memoryMiB;
        f.roundSeconds = 0;
      } else if (f.leftMiB > Math.max(EPSILON, rate * EPSILON)) {
        continue;
      } else if (f.phase === 'stop-and-copy') {
        ended.add(f);
        this.done.push({ id: f.id, endsAt: this.now, rounds: f.rounds, sentMiB: f.sentMiB, downtimeSeconds: this.now - f.pausedAt!, forced: f.forced });
        continue;
      } else {
        this.endRound(f, rate);
      }
      // A stop-and-copy with nothing to send ends at once.
      if (nothingToPause(f)) {
        ended.add(f);
        this.done.push({ id: f.id, endsAt: this.now, rounds: f.rounds, sentMiB: f.sentMiB, downtimeSeconds: 0, forced: f.forced });
      }
    }
    if (ended.size) this.flows = this.flows.filter((f) => !ended.has(f));
  }

  /** A pre-copy round has sent its pages: stop-and-copy what it dirtied meanwhile, or send it in another round. */
  private endRound(f: Flow, rate: number): void {
    const dirtied = Math.min(f.memoryMiB, f.dirtyMiBps * f.roundSeconds);
    f.leftMiB = dirtied;
    f.roundSeconds = 0;
    const fitsDowntime = dirtied <= rate * this.params.downtimeLimitSeconds;
    const capped = f.rounds >= this.params.maxRounds || f.sentMiB + dirtied > this.params.maxSentFactor * f.memoryMiB;
    if (fitsDowntime || capped) {
      f.phase = 'stop-and-copy';
      f.forced = !fitsDowntime;
      f.pausedAt = this.now;
    } else {
      f.rounds++;
    }
  }
}

function nothingToPause(f: Flow): boolean {
  return f.phase === 'stop-and-copy' && f.leftMiB <= EPSILON;
}

/** One migration alone between two hosts whose links carry `linkMiBps` each for migrations. */
export function migrateAlone(memoryMiB: number, dirtyRate: number, linkMiBps: number, params: PreCopyParams = REALISTIC_PRECOPY): MigrationOutcome {
  const network = new PreCopyNetwork(() => linkMiBps, params);
  network.start(0, { id: 0, source: 0, destination: 1, memoryMiB, dirtyMiBps: dirtyRate });
  return network.predict()[0];
}
