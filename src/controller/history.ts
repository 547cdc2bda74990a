/**
 * Feeds the history store from the reconcile rounds: host and VM samples from every
 * observation, every decision, and every action before it runs and after it ends. Store
 * failures are logged, never allowed to stop the operator (the store buffers samples itself).
 */
import { isObservable, type ObservedHost } from '../api/drivers.ts';
import type { PhysicalHost } from '../api/types.ts';
import type { Action } from '../planner/types.ts';
import type { HistoryStore } from '../store/types.ts';
import type { ActionResult } from './executor.ts';
import type { Logger } from './log.ts';
import type { RoundObserver } from './reconciler.ts';
import { powerStateWord } from './status.ts';

export function historyObserver(store: HistoryStore, log: Logger): RoundObserver {
  const storeIds = new Map<string, Promise<string | undefined>>();
  let lastDecision: Promise<string | undefined> = Promise.resolve(undefined);
  const warn = (what: string) => (err: unknown) => {
    log.warn(`history store: ${what} not recorded: ${(err as Error)?.message ?? err}`);
    return undefined;
  };
  return {
    onObserved(hosts: PhysicalHost[], observed: Map<string, ObservedHost>, nowMs: number) {
      store.appendHostSamples(
        hosts.map((h) => {
          const o = observed.get(h.metadata.name);
          const powerState = powerStateWord(h, o);
          // A host whose observation failed has unknown VMs, not none: no count is recorded.
          const vmCount = isObservable(o) ? o!.domains.filter((d) => d.state !== 'shutoff').length : powerState === 'off' ? 0 : undefined;
          return {
            host: h.metadata.name,
            atMs: nowMs,
            powerState,
            ...(h.status?.watts !== undefined ? { watts: h.status.watts } : {}),
            ...(o?.cpuLoadPercent !== undefined ? { cpuLoadPercent: o.cpuLoadPercent } : {}),
            ...(o?.memoryUsedMiB !== undefined ? { memoryUsedMiB: o.memoryUsedMiB } : {}),
            ...(vmCount !== undefined ? { vmCount } : {}),
          };
        }),
      );
      store.appendVmSamples(
        [...observed.values()].flatMap((o) =>
          o.domains.filter((d) => d.state === 'running' || d.state === 'migrating').map((d) => ({ vm: d.name, host: o.name, atMs: nowMs, cpuLoadPercent: d.cpuLoadPercent, memoryMiB: d.memoryMiB })),
        ),
      );
    },
    onPlanned(plan, _snapshot, _policy, dryRun, nowMs) {
      lastDecision = store.recordDecision({ atMs: nowMs, strategy: plan.strategy, summary: plan.summary, actions: plan.actions.map(stored), dryRun }).catch(warn('decision'));
    },
    onActionStarted(id: string, action: Action, atMs: number) {
      storeIds.set(id, lastDecision.then((decisionId) => store.recordAction(stored(action), atMs, decisionId)).catch(warn('action')));
    },
    onActionDone(result: ActionResult) {
      const started = storeIds.get(result.id) ?? store.recordAction(stored(result.action), result.startedAtMs).catch(warn('action'));
      storeIds.delete(result.id);
      void started.then((storeId) =>
        storeId
          ? store.recordActionOutcome(storeId, { result: result.result, finishedAtMs: result.startedAtMs + result.durationMs, ...(result.result !== 'succeeded' ? { error: result.detail } : {}) }).catch(warn('action outcome'))
          : undefined,
      );
    },
  };
}

function stored(action: Action) {
  return { ...action };
}
