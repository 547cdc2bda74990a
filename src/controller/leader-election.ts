/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: the leader renews
 * the lease every retry period; another replica takes the lease once it has not been renewed
 * for the lease duration. Writes carry the lease's resourceVersion, so two candidates racing
 * for an expired lease cannot both win (one gets 409). Defaults are controller-runtime's:
 * 15 s lease, 10 s renew deadline, 2 s retry.
 */
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { isConflict, isNotFound } from './cluster.ts';

/** Lease times must be MicroTime (six fractional digits); reads may hand back strings or Dates. */
function micro(time: Date | string): V1MicroTime {
  return new V1MicroTime(new Date(time).getTime());
}

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface LeaderCallbacks {
  onStartedLeading(): void;
  onStoppedLeading(): void;
  onError?(err: unknown): void;
}

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private leading = false;
  private lastRenewMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(kubeConfig: KubeConfig, private readonly options: LeaderElectionOptions, private readonly callbacks: LeaderCallbacks) {
    this.api = kubeConfig.makeApiClient(CoordinationV1Api);
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    const tick = async () => {
      if (this.stopped) return;
      await this.tryAcquireOrRenew();
      if (!this.stopped) this.timer = setTimeout(tick, this.retryPeriodMs);
    };
    void tick();
  }

  /** Stops electing; a leader releases the lease so a standby replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.leading) {
      this.setLeading(false);
      await this.release().catch((err) => this.callbacks.onError?.(err));
    }
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    if (leading) this.callbacks.onStartedLeading();
    else this.callbacks.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const now = Date.now();
    try {
      const won = await this.acquireOrRenew(now);
      if (won) this.lastRenewMs = now;
      // A leader that cannot renew within the renew deadline steps down before others may take over.
      this.setLeading(won || (this.leading && now - this.lastRenewMs < this.renewDeadlineMs));
    } catch (err) {
      this.callbacks.onError?.(err);
      if (this.leading && now - this.lastRenewMs >= this.renewDeadlineMs) this.setLeading(false);
    }
  }

  private leaseBody(now: number, previous?: V1Lease): V1Lease {
    const holderChanged = previous?.spec?.holderIdentity !== this.options.identity;
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

  private async acquireOrRenew(now: number): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ namespace, name });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await this.api.createNamespacedLease({ namespace, body: this.leaseBody(now) });
        return true;
      } catch (createErr) {
        if (isConflict(createErr)) return false; // another replica created it first
        throw createErr;
      }
    }
    const holder = lease.spec?.holderIdentity;
    const renewed = lease.spec?.renewTime ? new Date(lease.spec.renewTime).getTime() : 0;
    const durationMs = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
    if (holder && holder !== identity && renewed + durationMs > now) return false;
    try {
      await this.api.replaceNamespacedLease({ namespace, name, body: this.leaseBody(now, lease) });
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }

  private async release(): Promise<void> {
    const { namespace, name, identity } = this.options;
    const lease = await this.api.readNamespacedLease({ namespace, name });
    if (lease.spec?.holderIdentity !== identity) return;
    lease.spec.holderIdentity = undefined;
    lease.spec.renewTime = new V1MicroTime(0);
    if (lease.spec.acquireTime) lease.spec.acquireTime = micro(lease.spec.acquireTime);
    await this.api.replaceNamespacedLease({ namespace, name, body: lease });
  }
}
