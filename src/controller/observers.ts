/**
 * Round observers that turn what the reconciler does into Prometheus metrics, and a way to
 * hand the reconciler several observers at once.
 */
import { isObservable, type ObservedHost } from '../api/drivers.ts';
import type { PhysicalHost } from '../api/types.ts';
import type { HostObservation, TideMetrics } from '../metrics/tide-metrics.ts';
import { powerStateWord } from './status.ts';
import type { RoundObserver } from './reconciler.ts';

/** What a round saw of each host, as the metrics and the energy tally take it. */
export function hostObservations(hosts: PhysicalHost[], observed: Map<string, ObservedHost>): HostObservation[] {
  return hosts.map((h) => {
    const o = observed.get(h.metadata.name);
    const watts = h.spec.meter ? h.status?.watts : o?.watts ?? h.status?.watts;
    // A host whose observation failed has unknown VMs and load: no series, rather than 0.
    const full = isObservable(o) ? o : undefined;
    return {
      name: h.metadata.name,
      powerState: powerStateWord(h, o),
      ...(watts !== undefined ? { watts } : {}),
      ...(full?.cpuLoadPercent !== undefined ? { cpuLoadPercent: full.cpuLoadPercent } : {}),
      ...(full ? { vms: full.domains.filter((d) => d.state !== 'shutoff').length } : {}),
      ...(h.spec.power?.idleWatts !== undefined ? { idleWatts: h.spec.power.idleWatts } : {}),
    };
  });
}

export function metricsObserver(metrics: TideMetrics): RoundObserver {
  const migrationTimers = new Map<string, (result: 'succeeded' | 'failed') => void>();
  let endRound: ((result: 'success' | 'error') => void) | undefined;
  return {
    onRoundStarted(kind) {
      if (kind === 'plan') endRound = metrics.startReconcile();
    },
    onRoundDone(kind, _ms, error) {
      if (kind !== 'plan' || !endRound) return;
      endRound(error ? 'error' : 'success');
      endRound = undefined;
    },
    onObserved(hosts, observed, nowMs) {
      metrics.observeHosts(nowMs, hostObservations(hosts, observed));
    },
    onPlanned(plan) {
      for (const a of plan.actions) metrics.countPlannedAction(a.type, a.reason);
    },
    onActionStarted(id, action) {
      if (action.type === 'migrate') migrationTimers.set(id, metrics.startMigration());
    },
    onActionDone(result) {
      metrics.countAction(result.action.type, result.result);
      const end = migrationTimers.get(result.id);
      migrationTimers.delete(result.id);
      if (end) end(result.result === 'succeeded' ? 'succeeded' : 'failed');
    },
    onWakeAttempt(_host, attempt) {
      metrics.observeWake(attempt.method, attempt.outcome, attempt.latencySeconds);
    },
  };
}

/** One observer that forwards every call to each of `observers`, in order. */
export function combineObservers(...observers: (RoundObserver | undefined)[]): RoundObserver {
  const list = observers.filter((o): o is RoundObserver => !!o);
  return {
    onObserved: (...args) => list.forEach((o) => o.onObserved?.(...args)),
    onPlanned: (...args) => list.forEach((o) => o.onPlanned?.(...args)),
    onActionStarted: (...args) => list.forEach((o) => o.onActionStarted?.(...args)),
    onActionDone: (...args) => list.forEach((o) => o.onActionDone?.(...args)),
    onWakeAttempt: (...args) => list.forEach((o) => o.onWakeAttempt?.(...args)),
    onRoundStarted: (...args) => list.forEach((o) => o.onRoundStarted?.(...args)),
    onRoundDone: (...args) => list.forEach((o) => o.onRoundDone?.(...args)),
  };
}

