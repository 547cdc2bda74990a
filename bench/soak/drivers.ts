/**
 * The simulator's drivers with faults injected, one pair per operator process. A process that
 * was killed gets no answer to anything any more (its calls hang, as in a dead process), and
 * its aborts no longer reach the hosts: a dead process cancels nothing.
 */
import { PowerActionError, type HostTarget, type HypervisorDriver, type MigrationOutcome, type MigrationRequest, type ObservedHost, type PowerDriver } from '../../src/api/drivers.ts';
import type { SimClock } from '../../src/sim/clock.ts';
import type { SimMigration } from '../../src/sim/datacentre.ts';
import { SimHypervisorDriver, SimPowerDriver } from '../../src/sim/drivers.ts';
import type { FaultKind } from './faults.ts';
import type { Rng } from './rng.ts';

/** Faults the drivers inject, shared by every process (they are faults of the hosts, not of one process). */
export interface DriverFaults {
  rng: Rng;
  /** Share of SSH sessions (observations, migrations, power-offs) that drop. */
  sshDrop: number;
  /** What becomes of the next migrations, in order. */
  migrations: ('fail' | 'timeout' | 'abort')[];
  /** What becomes of the next wake-ups, in order: `late` carries the delay in ms. */
  wakes: ({ kind: 'fail' } | { kind: 'late'; delayMs: number })[];
  /** A kill armed at a point of the next action. */
  killAt?: 'after-intent' | 'mid-migration' | 'mid-power-off';
  /** Called when a fault actually took effect. */
  injected(kind: FaultKind): void;
}

/** What a driver knows of the process it belongs to. */
export interface ProcessHooks {
  readonly dead: boolean;
  /** Kills the process right now (a kill point was reached). */
  kill(): void;
  /** A command to a host is about to be sent (the split-brain check). */
  commandStarting(what: string): void;
}

/** The soak's view of migrations starting in the data centre (the cooldown and pinning checks). */
export type MigrationStarted = (migration: SimMigration) => void;

const hang = <T>(): Promise<T> => new Promise<T>(() => {});

/**
 * An abort signal that follows `signal` only while the process lives, for the duration of `call`
 * (the listener on the long-lived term signal is removed when the call ends).
 */
async function withLivingSignal<T>(signal: AbortSignal | undefined, proc: ProcessHooks, call: (living: AbortSignal | undefined) => Promise<T>): Promise<T> {
  if (!signal) return call(undefined);
  const controller = new AbortController();
  const follow = () => {
    if (!proc.dead) controller.abort(signal.reason);
  };
  if (signal.aborted) follow();
  else signal.addEventListener('abort', follow, { once: true });
  try {
    return await call(controller.signal);
  } finally {
    signal.removeEventListener('abort', follow);
  }
}

export class SoakHypervisor implements HypervisorDriver {
  private readonly inner: SimHypervisorDriver;

  constructor(
    private readonly clock: SimClock,
    private readonly faults: DriverFaults,
    private readonly proc: ProcessHooks,
    private readonly onMigrationStarted: MigrationStarted,
  ) {
    this.inner = new SimHypervisorDriver(clock);
  }

  private dropped(host: string): Error | undefined {
    if (this.faults.sshDrop <= 0 || !this.faults.rng.chance(this.faults.sshDrop)) return undefined;
    this.faults.injected('ssh-drop');
    return new Error(`ssh ${host}: connection reset by peer (injected)`);
  }

  async observeHost(target: HostTarget): Promise<ObservedHost> {
    if (this.proc.dead) return hang();
    const drop = this.dropped(target.name);
    if (drop) throw drop;
    const seen = await this.inner.observeHost(target);
    return this.proc.dead ? hang() : seen;
  }

  async migrate(request: MigrationRequest): Promise<MigrationOutcome> {
    const { proc, faults, clock } = this;
    if (proc.dead) return hang();
    proc.commandStarting(`migrate ${request.domain}`);
    const drop = this.dropped(request.from.name);
    if (drop) throw drop;
    const dc = clock.dc;
    const fault = faults.migrations.shift();
    if (fault === 'fail') {
      faults.injected('migration-fail');
      return { domain: request.domain, runningOn: request.from.name, succeeded: false, durationMs: 0, error: 'migration failed: unable to connect to the destination (injected)' };
    }
    const before = dc.vms.get(request.domain)?.migration;
    const model = dc.migrationModel;
    const bandwidth = model.bandwidthMbps;
    // A crawling link: the migration's duration is fixed as it starts, so restore at once.
    if (fault === 'timeout') model.bandwidthMbps = 0.01;
    const outcome = withLivingSignal(request.signal, proc, (signal) => this.inner.migrate({ ...request, signal }));
    model.bandwidthMbps = bandwidth;
    const started = dc.vms.get(request.domain)?.migration;
    if (started && started !== before) {
      this.onMigrationStarted(started);
      if (fault === 'timeout') faults.injected('migration-timeout');
      if (fault === 'abort') {
        faults.injected('migration-abort');
        void clock.sleep(Math.max(1, (started.endsAtMs - clock.now()) / 2)).then(() => {
          if (started.vm.migration === started) dc.abortMigration(request.domain, 'operation aborted: migration job cancelled (injected)');
        });
      }
      if (faults.killAt === 'mid-migration') {
        faults.killAt = undefined;
        faults.injected('operator-kill-mid-migration');
        proc.kill();
      }
    }
    const result = await outcome;
    return proc.dead ? hang() : result;
  }

  async close(): Promise<void> {}
}

export class SoakPower implements PowerDriver {
  private readonly inner: PowerDriver;

  constructor(
    private readonly clock: SimClock,
    private readonly faults: DriverFaults,
    private readonly proc: ProcessHooks,
    inner?: PowerDriver,
  ) {
    this.inner = inner ?? new SimPowerDriver(clock);
  }

  async powerOn(target: HostTarget, signal?: AbortSignal): Promise<void> {
    const { proc, faults, clock } = this;
    if (proc.dead) return hang();
    proc.commandStarting(`power on ${target.name}`);
    const timeoutMs = 1000 * ((target.spec as { power?: { bootTimeoutSeconds?: number } }).power?.bootTimeoutSeconds ?? 600);
    const wake = faults.wakes.shift();
    const timedOut = () => new PowerActionError(target.name, 'on', `${target.name} did not come up within ${timeoutMs / 1000} s`);
    if (wake?.kind === 'fail') {
      faults.injected('wake-fail'); // the magic packet is lost: the host never boots
      await withLivingSignal(signal, proc, (living) => clock.sleep(timeoutMs, living)).catch(() => {});
      if (proc.dead) return hang();
      throw timedOut();
    }
    let result: Promise<void>;
    if (wake?.kind === 'late') {
      faults.injected('wake-late');
      const booted = clock.sleep(wake.delayMs).then(() => this.inner.powerOn(target));
      booted.catch(() => {}); // a late boot that fails is seen by observing the host
      result = Promise.race([booted, clock.sleep(timeoutMs).then(() => Promise.reject(timedOut()))]);
    } else {
      result = withLivingSignal(signal, proc, (living) => this.inner.powerOn(target, living));
    }
    await result.catch((err) => (proc.dead ? undefined : Promise.reject(err)));
    if (proc.dead) return hang();
  }

  async powerOff(target: HostTarget, signal?: AbortSignal): Promise<void> {
    const { proc, faults } = this;
    if (proc.dead) return hang();
    proc.commandStarting(`power off ${target.name}`);
    if (faults.sshDrop > 0 && faults.rng.chance(faults.sshDrop)) {
      faults.injected('ssh-drop');
      throw new PowerActionError(target.name, 'off', `ssh ${target.name}: connection reset by peer (injected)`);
    }
    const result = withLivingSignal(signal, proc, (living) => this.inner.powerOff(target, living));
    if (faults.killAt === 'mid-power-off' && this.clock.dc.hosts.get(target.name)?.powerState === 'shutting-down') {
      faults.killAt = undefined;
      faults.injected('operator-kill-mid-power-off');
      proc.kill();
      result.catch(() => {});
      return hang();
    }
    await result.catch((err) => (proc.dead ? undefined : Promise.reject(err)));
    if (proc.dead) return hang();
  }
}
