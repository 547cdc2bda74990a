/**
 * The operator process: informers feed a work queue; one worker (so rounds never overlap)
 * runs observe and plan rounds; leader election decides whether this replica may act at all.
 *
 *   observe — every observeInterval: read every host, write status, and ask for a plan round at
 *             once when a host is over Th1 (the paper's overloading event, section 3.2.1);
 *   plan    — every evaluationInterval of the policy (the paper's periodic event), at once on
 *             overload, and whenever a user changes a spec.
 *
 * Under leader election a replica acts only during a term: from gaining the Lease to losing it.
 * Each term has its own queue and abort signal; losing the Lease aborts the running round (the
 * executor starts nothing new and aborts what it can), each migration and power command is
 * fenced by a fresh check of the Lease, and stop() gives the Lease up only after the round ended.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../api/clock.ts';
import { parseDuration } from '../api/schema-helpers.ts';
import { DEFAULT_TIDE_NAMESPACE } from './credentials.ts';
import { KubeFinalizerWriter } from './finalizers.ts';
import { ResourceInformers } from './informers.ts';
import { KubePlanStore } from './plan-approval.ts';
import { LeaderElector, NotLeaderError, type LeaderElectionOptions } from './leader-election.ts';
import type { Logger } from './log.ts';
import { Reconciler, type ReconcilerDeps } from './reconciler.ts';
import { WorkQueue } from './workqueue.ts';

type Key = 'observe' | 'plan';

/** How long a deposed replica waits for its aborted round to wind down before onLostLeadership. */
const ABORT_GRACE_MS = 5_000;

/** One acting period: from gaining leadership (or start, without election) to losing it. */
interface Term {
  queue: WorkQueue<Key>;
  /** Aborted when the term ends: the periodic timer, the running round and its actions. */
  abort: AbortController;
}

export interface OperatorOptions extends Omit<ReconcilerDeps, 'cache' | 'fence'> {
  kubeConfig: KubeConfig;
  /** Lease settings; omit to act without leader election (single replica, tests, `tide dev`). */
  leaderElection?: LeaderElectionOptions;
  observeIntervalMs: number;
  /** An overload triggers a plan round at most this often (ms). */
  overloadCooldownMs?: number;
  /** Called when this replica lost leadership and its round has been aborted (`tide run` exits). */
  onLostLeadership?: () => void;
  /** Told whenever this replica starts or stops acting (metrics). */
  onLeadershipChange?: (leading: boolean) => void;
}

export class Operator {
  readonly reconciler: Reconciler;
  private readonly informers: ResourceInformers;
  private readonly elector?: LeaderElector;
  private synced = false;
  private stopped = false;
  private lastPlanAtMs = -Infinity;
  private term?: Term;
  /** The worker of the latest term; a new term's worker starts only after it (rounds never overlap). */
  private worker: Promise<void> = Promise.resolve();

  constructor(private readonly options: OperatorOptions) {
    const { log } = options;
    this.informers = new ResourceInformers(options.kubeConfig, {
      onSpecChange: (kind, name) => {
        log.debug(`${kind} ${name} changed`);
        this.term?.queue.add('plan');
      },
      onError: (kind, err) => log.warn(`watch on ${kind} failed, restarting: ${(err as Error)?.message ?? err}`),
    }, { secretNamespace: options.namespace ?? DEFAULT_TIDE_NAMESPACE, ...(options.policySelector !== undefined ? { policySelector: options.policySelector } : {}) });
    const elector = options.leaderElection
      ? new LeaderElector(options.kubeConfig, options.leaderElection, {
          onStartedLeading: () => {
            log.info(`${options.leaderElection!.identity} is the leader`);
            this.startActing();
          },
          onStoppedLeading: () => {
            this.stopActing();
            if (this.stopped) return; // released on purpose by stop()
            log.warn(`${options.leaderElection!.identity} lost leadership: aborted its round, stops acting`);
            // Give aborts a moment to reach the hosts (an exit would cut them off), then report.
            const lost = options.onLostLeadership;
            if (lost) void Promise.race([this.worker, new Promise((r) => setTimeout(r, ABORT_GRACE_MS).unref())]).then(lost);
          },
          onError: (err) => log.warn(`leader election: ${(err as Error)?.message ?? err}`),
        })
      : undefined;
    this.elector = elector;
    this.reconciler = new Reconciler({
      ...options,
      cache: this.informers,
      // Checked right before each migration and power command: the Lease still names this replica
      // with the resourceVersion it last wrote, and the renew deadline has not passed.
      fence: elector ? () => this.assertActing(elector) : undefined,
      finalizers: new KubeFinalizerWriter(options.kubeConfig),
      plans: new KubePlanStore(options.kubeConfig),
    });
  }

  private async assertActing(elector: LeaderElector): Promise<void> {
    if (!this.term) throw new NotLeaderError(`${this.options.leaderElection!.identity} is not acting`);
    await elector.assertLeading();
  }

  /** Ready once the informer caches are filled (a standby replica is ready too). */
  get ready(): boolean {
    return this.synced && !this.stopped;
  }

  get isActing(): boolean {
    return this.term !== undefined;
  }

  async start(): Promise<void> {
    await this.informers.start();
    this.synced = true;
    if (this.elector) this.elector.start();
    else this.startActing();
  }

  /**
   * Aborts the running round and waits for it to end, and only then releases the Lease: until
   * then no other replica may act, because this one still might.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopActing();
    await this.worker;
    await this.elector?.stop();
    await this.informers.stop();
  }

  /** Asks for a plan round now (e.g. from a test or a signal); ignored while not acting. */
  requestPlan(): void {
    this.term?.queue.add('plan');
  }

  private startActing(): void {
    if (this.term || this.stopped) return;
    const term: Term = { queue: new WorkQueue<Key>(this.options.clock), abort: new AbortController() };
    this.term = term;
    this.options.onLeadershipChange?.(true);
    term.queue.add('plan');
    // A round of the previous term may still be winding down after its abort.
    this.worker = this.worker.then(() => this.work(term));
    void this.periodicPlans(term);
  }

  private stopActing(): void {
    const term = this.term;
    if (!term) return;
    this.term = undefined;
    this.options.onLeadershipChange?.(false);
    term.abort.abort(new NotLeaderError('this replica stopped acting'));
    term.queue.shutDown();
  }

  /** A plan round plans every policy, so it comes as often as the shortest evaluationInterval asks. */
  private evaluationIntervalMs(): number {
    const intervals = this.reconciler.policies().map((p) => parseDuration(p.spec.evaluationInterval));
    return intervals.length ? Math.min(...intervals) : parseDuration('10m');
  }

  /** The paper's periodic triggering event: a plan round every evaluationInterval. */
  private async periodicPlans({ queue, abort: { signal } }: Term): Promise<void> {
    const { clock } = this.options;
    try {
      while (!signal.aborted) {
        const due = this.lastPlanAtMs + this.evaluationIntervalMs();
        const now = clock.now();
        if (now >= due) queue.add('plan');
        // Re-check at least every 30 s: a new or changed policy may have shortened the interval.
        await clock.sleep(Math.max(1000, Math.min(due - now, 30_000)), signal);
      }
    } catch {
      /* aborted */
    }
  }

  private async work(term: Term): Promise<void> {
    const { clock, log } = this.options;
    const { queue } = term;
    queue.add('observe');
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      const started = clock.now();
      this.options.observer?.onRoundStarted?.(key);
      try {
        if (key === 'plan') await this.planRound(term.abort.signal);
        else await this.observeRound(queue);
        queue.forget(key);
        this.options.observer?.onRoundDone?.(key, clock.now() - started);
      } catch (err) {
        const delay = queue.addRateLimited(key);
        log.error(`${key} round failed (retry in ${delay} ms): ${(err as Error)?.stack ?? err}`);
        this.options.observer?.onRoundDone?.(key, clock.now() - started, err);
      } finally {
        queue.done(key);
      }
    }
  }

  private async planRound(signal: AbortSignal): Promise<void> {
    this.lastPlanAtMs = this.options.clock.now();
    await this.reconciler.planRound(signal);
  }

  private async observeRound(queue: WorkQueue<Key>): Promise<void> {
    // Only hosts over Th1 of their own policy, one that evaluates on overload (reconciler.ts).
    const { overloaded } = await this.reconciler.observe();
    const cooldown = this.options.overloadCooldownMs ?? 60_000;
    if (overloaded.length > 0 && this.options.clock.now() - this.lastPlanAtMs >= cooldown) {
      this.options.log.info(`overload on ${overloaded.join(', ')} (over Th1 of its policy): deciding now`);
      queue.add('plan');
    }
    queue.addAfter('observe', this.options.observeIntervalMs);
  }
}
