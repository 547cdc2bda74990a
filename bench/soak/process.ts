/**
 * One operator process of the soak: the real Operator (informers, reconciler, executor, leader
 * election) talking to the API through its own fault proxy and to the hosts through the fault
 * drivers. kill() is a crash: nothing is released, nothing aborted, every call it had in flight
 * stays unanswered; stop() is a graceful shutdown (SIGTERM).
 */
import type { PowerDriver } from '../../src/api/drivers.ts';
import { KubeClusterWriter, type ClusterWriter, type ObjectRef } from '../../src/controller/cluster.ts';
import { isUnfinished } from '../../src/controller/intents.ts';
import type { Resource } from '../../src/api/types.ts';
import type { Logger } from '../../src/controller/log.ts';
import { Operator } from '../../src/controller/operator.ts';
import type { ApiServer } from '../../src/kube/apiserver/index.ts';
import { plan } from '../../src/planner/plan.ts';
import type { SimClock } from '../../src/sim/clock.ts';
import { startFaultProxy, type ApiFaults, type FaultProxy } from './api-proxy.ts';
import { SoakHypervisor, SoakPower, type DriverFaults, type MigrationStarted, type ProcessHooks } from './drivers.ts';

/** Lease times (wall ms): a takeover after a crash costs a few seconds; long enough that a loaded machine does not lose the Lease to slow answers alone. */
export const LEASE = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 400, requestTimeoutMs: 900 };

export interface ProcessDeps {
  api: ApiServer;
  clock: SimClock;
  apiFaults: ApiFaults;
  driverFaults: DriverFaults;
  onMigrationStarted: MigrationStarted;
  onCommand(proc: OperatorProcess, what: string): void;
  onKilled(proc: OperatorProcess): void;
  log: Logger;
  observeIntervalMs: number;
  /** Test-only: a power driver to use instead of the simulator's (e.g. a broken one). */
  power?: (clock: SimClock) => PowerDriver;
}

const hang = <T>(): Promise<T> => new Promise<T>(() => {});

export class OperatorProcess implements ProcessHooks {
  dead = false;
  stopped = false;
  operator!: Operator;
  private proxy!: FaultProxy;

  private constructor(
    readonly name: string,
    private readonly deps: ProcessDeps,
  ) {}

  static async start(name: string, deps: ProcessDeps): Promise<OperatorProcess> {
    const proc = new OperatorProcess(name, deps);
    proc.proxy = await startFaultProxy(deps.api, deps.apiFaults);
    const kubeConfig = proc.proxy.kubeConfig();
    proc.operator = new Operator({
      kubeConfig,
      clock: deps.clock,
      hypervisor: new SoakHypervisor(deps.clock, deps.driverFaults, proc, deps.onMigrationStarted),
      power: new SoakPower(deps.clock, deps.driverFaults, proc, deps.power?.(deps.clock)),
      writer: proc.writer(new KubeClusterWriter(kubeConfig, name)),
      planner: plan,
      log: deps.log,
      observeIntervalMs: deps.observeIntervalMs,
      leaderElection: { namespace: 'tide-system', name: 'tide-operator', identity: name, ...LEASE },
    });
    try {
      await proc.operator.start();
    } catch (err) {
      // An API fault during start is a failed start, as a pod's crash loop: it never acted.
      proc.dead = true;
      await proc.proxy.stop();
      throw err;
    }
    return proc;
  }

  get inFlight(): number {
    return this.dead || this.stopped ? 0 : this.proxy.inFlight();
  }

  get acting(): boolean {
    return !this.dead && !this.stopped && this.operator.isActing;
  }

  get alive(): boolean {
    return !this.dead && !this.stopped;
  }

  cutWatches(): void {
    if (this.alive) this.proxy.cutWatches();
  }

  commandStarting(what: string): void {
    this.deps.onCommand(this, what);
  }

  /** A crash: the network goes first, then the process's own loops end without a word to anyone. */
  kill(): void {
    if (this.dead) return;
    this.dead = true;
    this.proxy.kill();
    const inner = this.operator as unknown as { elector?: { stop(): Promise<void> }; informers: { stop(): Promise<void> } };
    void inner.elector?.stop().catch(() => {});
    void inner.informers.stop().catch(() => {});
    void this.proxy.stop();
    this.deps.onKilled(this);
  }

  /** SIGTERM: the round is aborted and waited for, then the Lease released (within `graceMs` of wall time). */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.alive) return;
    const stopping = this.operator.stop();
    await Promise.race([stopping, new Promise((r) => setTimeout(r, graceMs))]);
    this.stopped = true;
    await this.proxy.stop();
  }

  /** The cluster writer, dead with the process, and a kill point right after an intent is written. */
  private writer(inner: ClusterWriter): ClusterWriter {
    const faults = this.deps.driverFaults;
    const live = <T>(call: () => Promise<T>): Promise<T> => (this.dead ? hang() : call().then((r) => (this.dead ? hang() : r)));
    return {
      updateStatus: <S>(ref: ObjectRef, mutate: (status: S, obj: Resource<unknown, S>) => S) =>
        live(async () => {
          let before: unknown;
          let after: unknown;
          await inner.updateStatus<S>(ref, (s, o) => {
            before = s;
            return (after = mutate(s, o));
          });
          if (faults.killAt === 'after-intent' && newIntent(before, after)) {
            faults.killAt = undefined;
            faults.injected('operator-kill-after-intent');
            this.kill();
          }
        }),
      recordEvent: (...args) => live(() => inner.recordEvent(...args)),
      readSecret: (...args) => live(() => inner.readSecret(...args)),
      read: <T>(ref: Parameters<ClusterWriter['read']>[0]) => live(() => inner.read<T>(ref)),
    };
  }
}

type Records = { migration?: { id: string; phase: string }; powerAction?: { id: string; phase: string } } | undefined;

/** The write put a new unfinished migration or power record in place: an intent. */
function newIntent(before: unknown, after: unknown): boolean {
  const b = before as Records;
  const a = after as Records;
  return (
    (isUnfinished(a?.migration) && a!.migration!.id !== b?.migration?.id) ||
    (isUnfinished(a?.powerAction) && a!.powerAction!.id !== b?.powerAction?.id)
  );
}
