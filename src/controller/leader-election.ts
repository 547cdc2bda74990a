/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: the leader renews
 * the lease every retry period; another replica takes the lease once it has watched it
 * unchanged for the lease duration. Writes carry the lease's resourceVersion, so two
 * candidates racing for an expired lease cannot both win (one gets 409). Defaults are
 * controller-runtime's: 15 s lease, 10 s renew deadline, 2 s retry.
 *
 * Why two leaders cannot act at once (docs/operator.md, "Leader election"):
 * - every Lease request has a timeout (half the renew deadline), so a hung request cannot keep
 *   the loop waiting;
 * - a timer steps the leader down the moment its renew deadline passes without a successful
 *   renew, whatever its requests are doing, and aborts the renew in flight;
 * - a standby measures expiry on its own monotonic clock from the moment it saw the Lease
 *   record change (never the holder's timestamps, which another clock wrote), and the
 *   deadline is shorter than the lease, so the old leader has stopped before anyone takes over;
 * - `assertLeading()` is the fencing check run right before every migration and power command:
 *   the Lease must still carry this replica as holder and the resourceVersion it last wrote.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { CoordinationV1Api, Observable, V1MicroTime, type ConfigurationOptions, type KubeConfig, type ObservableMiddleware, type V1Lease } from '@kubernetes/client-node';
import { isConflict, isNotFound } from './cluster.ts';
import { canonicalSelector } from '../api/label-selector.ts';

/** The Lease of the instance that owns every policy. */
export const DEFAULT_LEASE_NAME = 'tide-operator';

/**
 * The Lease an instance group elects its leader on: `tide-operator`, or, for the instances of
 * one `--policy-selector`, `tide-operator-` and a hash of the selector (its terms in a canonical
 * order), so each group has its own Lease and every replica of a group finds the same one.
 */
export function leaseNameFor(policySelector: string | undefined): string {
  if (policySelector === undefined) return DEFAULT_LEASE_NAME;
  return `${DEFAULT_LEASE_NAME}-${createHash('sha256').update(canonicalSelector(policySelector)).digest('hex').slice(0, 10)}`;
}

/** Lease times must be MicroTime (six fractional digits); reads may hand back strings or Dates. */
function micro(time: Date | string): V1MicroTime {
  return new V1MicroTime(new Date(time).getTime());
}

/** Local time for durations: monotonic, so a wall-clock step cannot stretch or cut a lease. */
const monotonicMs = () => performance.now();

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Longest one Lease request may take (default: half the renew deadline). */
  requestTimeoutMs?: number;
}

export interface LeaderCallbacks {
  onStartedLeading(): void;
  onStoppedLeading(): void;
  onError?(err: unknown): void;
}

/** Thrown by `assertLeading()`: this replica cannot show that it leads right now. */
export class NotLeaderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotLeaderError';
  }
}

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly requestTimeoutMs: number;
  private leading = false;
  private stopped = false;
  /** Monotonic time at which the last successful acquire or renew attempt started. */
  private renewedAtMs = 0;
  /**
   * resourceVersions of this replica's latest writes: the fencing token. A read that shows one
   * of them (and this replica as holder) proves no one else wrote the Lease since.
   */
  private readonly writtenVersions: string[] = [];
  /** The Lease record last read and the monotonic time at which it was first seen so. */
  private observed: { record: string; atMs: number } | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  /** The acquire/renew attempt in flight: aborted when the deadline passes or on stop(). */
  private attempt: { abort: AbortController; done: Promise<void> } | undefined;

  constructor(kubeConfig: KubeConfig, private readonly options: LeaderElectionOptions, private readonly callbacks: LeaderCallbacks) {
    this.api = kubeConfig.makeApiClient(CoordinationV1Api);
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? this.renewDeadlineMs / 2;
    if (this.renewDeadlineMs >= this.leaseDurationMs) throw new Error('leader election: the renew deadline must be shorter than the lease duration');
    if (this.requestTimeoutMs >= this.renewDeadlineMs) throw new Error('leader election: the request timeout must be shorter than the renew deadline');
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      const abort = new AbortController();
      const done = this.tryAcquireOrRenew(abort.signal).finally(() => {
        if (this.attempt?.abort === abort) this.attempt = undefined;
        if (!this.stopped) this.retryTimer = setTimeout(tick, this.retryPeriodMs);
      });
      this.attempt = { abort, done };
    };
    tick();
  }

  /**
   * Stops electing. A leader releases the lease so a standby takes over at once; callers must
   * have stopped acting first (Operator.stop() waits for its running round).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    // An attempt in flight could otherwise write the Lease back after the release.
    await this.attempt?.done;
    if (!this.leading) return;
    this.stepDown();
    await this.release().catch((err) => this.callbacks.onError?.(err));
  }

  /**
   * The fencing check: resolves only if this replica provably leads right now — it leads, its
   * renew deadline has not passed, and a fresh read of the Lease shows it as holder with the
   * resourceVersion it last wrote (so no one else has written the Lease since). Rejects with
   * NotLeaderError otherwise, including when the Lease cannot be read within the timeout.
   */
  async assertLeading(): Promise<void> {
    const { namespace, name, identity } = this.options;
    this.assertWithinDeadline();
    const lease = await this.call('read Lease', this.deadlineSignal(), (o) => this.api.readNamespacedLease({ namespace, name }, o)).catch((err: Error) => {
      throw new NotLeaderError(`cannot confirm leadership: ${err.message}`);
    });
    this.assertWithinDeadline(); // the read itself took time
    const holder = lease.spec?.holderIdentity;
    if (holder !== identity) throw new NotLeaderError(`the Lease is held by ${holder || 'nobody'}, not ${identity}`);
    const version = lease.metadata?.resourceVersion ?? '';
    // Our own renew may have landed while its answer is still on the way: wait for it, then compare.
    if (!this.writtenVersions.includes(version) && this.attempt) {
      await this.attempt.done;
      this.assertWithinDeadline();
    }
    if (!this.writtenVersions.includes(version)) {
      throw new NotLeaderError(`the Lease was written by someone else (resourceVersion ${version}; ${identity} last wrote ${this.writtenVersions.at(-1)})`);
    }
  }

  private wrote(lease: V1Lease): void {
    const version = lease.metadata?.resourceVersion;
    if (!version) return;
    this.writtenVersions.push(version);
    if (this.writtenVersions.length > 3) this.writtenVersions.shift();
  }

  private assertWithinDeadline(): void {
    if (!this.leading) throw new NotLeaderError(`${this.options.identity} is not the leader`);
    const sinceRenewMs = monotonicMs() - this.renewedAtMs;
    if (sinceRenewMs >= this.renewDeadlineMs) throw new NotLeaderError(`no successful renew for ${Math.round(sinceRenewMs)} ms (renew deadline ${this.renewDeadlineMs} ms)`);
  }

  /** Aborts when the renew deadline passes (the leader must have stopped acting by then). */
  private deadlineSignal(): AbortSignal {
    return AbortSignal.timeout(Math.max(0, Math.ceil(this.renewedAtMs + this.renewDeadlineMs - monotonicMs())));
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    if (leading) this.callbacks.onStartedLeading();
    else this.callbacks.onStoppedLeading();
  }

  private stepDown(): void {
    clearTimeout(this.deadlineTimer);
    this.setLeading(false);
  }

  /** Steps down by timer when the renew deadline passes, even while a renew request hangs. */
  private armDeadline(): void {
    clearTimeout(this.deadlineTimer);
    const remainingMs = this.renewedAtMs + this.renewDeadlineMs - monotonicMs();
    this.deadlineTimer = setTimeout(() => {
      this.callbacks.onError?.(new Error(`no successful renew within the renew deadline (${this.renewDeadlineMs} ms): stepping down`));
      this.attempt?.abort.abort(new Error('renew deadline passed'));
      this.stepDown();
    }, remainingMs);
  }

  private async tryAcquireOrRenew(signal: AbortSignal): Promise<void> {
    const startedAtMs = monotonicMs();
    try {
      const won = await this.acquireOrRenew(signal);
      if (this.stopped && !won) return;
      if (won) {
        this.renewedAtMs = startedAtMs;
        // A renew that returns after its own deadline proves nothing about now.
        if (monotonicMs() - startedAtMs >= this.renewDeadlineMs) return;
        this.armDeadline();
        this.setLeading(true);
      } else if (this.leading) {
        // Another replica holds the Lease: certain, so no need to wait for the deadline.
        this.callbacks.onError?.(new Error('another replica holds the Lease: stepping down'));
        this.stepDown();
      }
    } catch (err) {
      // Failed or timed out: a leader keeps leading until the deadline timer says otherwise.
      this.callbacks.onError?.(err);
    }
  }

  /**
   * One Lease request with a timeout, also bounded by `signal`. The signal reaches the HTTP
   * request itself (client-node hands it to fetch), so a hung request is torn down, not left
   * behind; the race settles the promise even if something before the request hangs.
   */
  private call<T>(what: string, signal: AbortSignal, request: (options: ConfigurationOptions<ObservableMiddleware>) => Promise<T>): Promise<T> {
    const bounded = AbortSignal.any([signal, AbortSignal.timeout(this.requestTimeoutMs)]);
    const withSignal: ObservableMiddleware = {
      pre: (context) => {
        context.setSignal(bounded);
        return new Observable(Promise.resolve(context));
      },
      post: (response) => new Observable(Promise.resolve(response)),
    };
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(new Error(`${what}: ${signal.aborted ? String(signal.reason?.message ?? signal.reason) : `no answer within ${this.requestTimeoutMs} ms`}`));
      if (bounded.aborted) return onAbort();
      bounded.addEventListener('abort', onAbort, { once: true });
      request({ middleware: [withSignal], middlewareMergeStrategy: 'append' })
        .then(resolve, reject)
        .finally(() => bounded.removeEventListener('abort', onAbort));
    });
  }

  private leaseBody(previous?: V1Lease): V1Lease {
    const holderChanged = previous?.spec?.holderIdentity !== this.options.identity;
    const now = Date.now();
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { ...(previous?.metadata ?? {}), name: this.options.name, namespace: this.options.namespace },
      spec: {
        holderIdentity: this.options.identity,
        leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
        acquireTime: holderChanged || !previous?.spec?.acquireTime ? new V1MicroTime(now) : micro(previous.spec.acquireTime),
        renewTime: new V1MicroTime(now),
        leaseTransitions: (previous?.spec?.leaseTransitions ?? 0) + (holderChanged && previous ? 1 : 0),
      },
    };
  }

  /**
   * Has another holder's lease run out? Only by this replica's own clock: the lease is valid for
   * its duration from the moment this replica first saw its current record, as client-go does.
   */
  private othersLeaseValid(lease: V1Lease): boolean {
    const record = JSON.stringify([lease.spec?.holderIdentity, lease.spec?.renewTime, lease.metadata?.resourceVersion]);
    const now = monotonicMs();
    if (this.observed?.record !== record) this.observed = { record, atMs: now };
    const durationMs = (lease.spec?.leaseDurationSeconds ?? this.leaseDurationMs / 1000) * 1000;
    return now < this.observed.atMs + durationMs;
  }

  private async acquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    let lease: V1Lease;
    try {
      lease = await this.call('read Lease', signal, (o) => this.api.readNamespacedLease({ namespace, name }, o));
    } catch (err) {
      if (!isNotFound(err) || this.stopped) throw err;
      try {
        this.wrote(await this.call('create Lease', signal, (o) => this.api.createNamespacedLease({ namespace, body: this.leaseBody() }, o)));
        return true;
      } catch (createErr) {
        if (isConflict(createErr)) return false; // another replica created it first
        throw createErr;
      }
    }
    const holder = lease.spec?.holderIdentity;
    if (holder && holder !== identity && this.othersLeaseValid(lease)) return false;
    if (this.stopped) return false; // never take (or retake) the Lease while stopping
    try {
      this.wrote(await this.call('write Lease', signal, (o) => this.api.replaceNamespacedLease({ namespace, name, body: this.leaseBody(lease) }, o)));
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }

  private async release(): Promise<void> {
    const { namespace, name, identity } = this.options;
    const signal = AbortSignal.timeout(this.requestTimeoutMs);
    const lease = await this.call('read Lease', signal, (o) => this.api.readNamespacedLease({ namespace, name }, o));
    if (lease.spec?.holderIdentity !== identity) return;
    lease.spec.holderIdentity = undefined;
    lease.spec.renewTime = new V1MicroTime(0);
    if (lease.spec.acquireTime) lease.spec.acquireTime = micro(lease.spec.acquireTime);
    await this.call('release Lease', signal, (o) => this.api.replaceNamespacedLease({ namespace, name, body: lease }, o));
  }
}
