/**
 * The operator process: informers feed a work queue; one worker (so rounds never overlap)
 * runs observe and plan rounds; leader election decides whether this replica may act at all.
 *
 *   observe — every observeInterval: read every host, write status, and ask for a plan round at
 *             once when a host is over Th1 (the paper's overloading event, section 3.2.1);
 *   plan    — every evaluationInterval of the policy (the paper's periodic event), at once on
 *             overload, and whenever a user changes a spec.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../api/clock.ts';
import { parseDuration } from '../api/schema-helpers.ts';
import { ResourceInformers } from './informers.ts';
import { LeaderElector, type LeaderElectionOptions } from './leader-election.ts';
import type { Logger } from './log.ts';
import { Reconciler, type ReconcilerDeps } from './reconciler.ts';
import { WorkQueue } from './workqueue.ts';

type Key = 'observe' | 'plan';

export interface OperatorOptions extends Omit<ReconcilerDeps, 'cache'> {
  kubeConfig: KubeConfig;
  /** Lease settings; omit to act without leader election (single replica, tests, `tide dev`). */
  leaderElection?: LeaderElectionOptions;
  observeIntervalMs: number;
  /** An overload triggers a plan round at most this often (ms). */
  overloadCooldownMs?: number;
  /** Called when this replica loses leadership: it must stop acting at once (`tide run` exits). */
  onLostLeadership?: () => void;
  /** Told whenever this replica starts or stops acting (metrics). */
  onLeadershipChange?: (leading: boolean) => void;
}

export class Operator {
  readonly reconciler: Reconciler;
  private readonly informers: ResourceInformers;
  private readonly queue: WorkQueue<Key>;
  private readonly elector?: LeaderElector;
  private synced = false;
  private acting = false;
  private stopped = false;
  private lastPlanAtMs = -Infinity;
  private worker?: Promise<void>;
  private ticker?: AbortController;

  constructor(private readonly options: OperatorOptions) {
    const { log } = options;
    this.queue = new WorkQueue<Key>(options.clock);
    this.informers = new ResourceInformers(options.kubeConfig, {
      onSpecChange: (kind, name) => {
        log.debug(`${kind} ${name} changed`);
        if (this.acting) this.queue.add('plan');
      },
      onError: (kind, err) => log.warn(`watch on ${kind} failed, restarting: ${(err as Error)?.message ?? err}`),
    });
    this.reconciler = new Reconciler({ ...options, cache: this.informers });
    if (options.leaderElection) {
      this.elector = new LeaderElector(options.kubeConfig, options.leaderElection, {
        onStartedLeading: () => {
          log.info(`${options.leaderElection!.identity} is the leader`);
          this.startActing();
        },
        onStoppedLeading: () => {
          this.stopActing();
          if (this.stopped) return; // released on purpose by stop()
          log.warn(`${options.leaderElection!.identity} lost leadership: stops acting`);
          options.onLostLeadership?.();
        },
        onError: (err) => log.warn(`leader election: ${(err as Error)?.message ?? err}`),
      });
    }
  }

  /** Ready once the informer caches are filled (a standby replica is ready too). */
  get ready(): boolean {
    return this.synced && !this.stopped;
  }

  get isActing(): boolean {
    return this.acting;
  }

  async start(): Promise<void> {
    await this.informers.start();
    this.synced = true;
    if (this.elector) this.elector.start();
    else this.startActing();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopActing();
    await this.elector?.stop();
    await this.informers.stop();
    await this.worker;
  }

  /** Asks for a plan round now (e.g. from a test or a signal). */
  requestPlan(): void {
    this.queue.add('plan');
  }

  private startActing(): void {
    if (this.acting || this.stopped) return;
    this.acting = true;
    this.options.onLeadershipChange?.(true);
    this.queue.add('plan');
    this.worker = this.work();
    this.ticker = new AbortController();
    void this.periodicPlans(this.ticker.signal);
  }

  private stopActing(): void {
    if (!this.acting) return;
    this.acting = false;
    this.options.onLeadershipChange?.(false);
    this.ticker?.abort();
    this.queue.shutDown();
  }

  private evaluationIntervalMs(): number {
    const policy = this.reconciler.activePolicy();
    return parseDuration(policy?.spec.evaluationInterval ?? '10m');
  }

  /** The paper's periodic triggering event: a plan round every evaluationInterval. */
  private async periodicPlans(signal: AbortSignal): Promise<void> {
    const { clock } = this.options;
    try {
      while (!signal.aborted) {
        const due = this.lastPlanAtMs + this.evaluationIntervalMs();
        const now = clock.now();
        if (now >= due) this.queue.add('plan');
        // Re-check at least every 30 s: a new or changed policy may have shortened the interval.
        await clock.sleep(Math.max(1000, Math.min(due - now, 30_000)), signal);
      }
    } catch {
      /* aborted */
    }
  }

  private async work(): Promise<void> {
    const { clock, log } = this.options;
    this.queue.add('observe');
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const started = clock.now();
      this.options.observer?.onRoundStarted?.(key);
      try {
        if (key === 'plan') await this.planRound();
        else await this.observeRound();
        this.queue.forget(key);
        this.options.observer?.onRoundDone?.(key, clock.now() - started);
      } catch (err) {
        const delay = this.queue.addRateLimited(key);
        log.error(`${key} round failed (retry in ${delay} ms): ${(err as Error)?.stack ?? err}`);
        this.options.observer?.onRoundDone?.(key, clock.now() - started, err);
      } finally {
        this.queue.done(key);
      }
    }
  }

  private async planRound(): Promise<void> {
    this.lastPlanAtMs = this.options.clock.now();
    await this.reconciler.planRound();
  }

  private async observeRound(): Promise<void> {
    const { overloaded } = await this.reconciler.observe();
    const policy = this.reconciler.activePolicy();
    const cooldown = this.options.overloadCooldownMs ?? 60_000;
    if (overloaded.length > 0 && policy?.spec.evaluateOnOverload && this.options.clock.now() - this.lastPlanAtMs >= cooldown) {
      this.options.log.info(`overload on ${overloaded.join(', ')} (over Th1 ${policy.spec.overloadThresholdPercent} %): deciding now`);
      this.queue.add('plan');
    }
    this.queue.addAfter('observe', this.options.observeIntervalMs);
  }
}
