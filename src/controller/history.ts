/**
 * Feeds the history store from the reconcile rounds: host and VM samples from every
 * observation, every decision, and every action before it runs and after it ends. Store
 * failures are logged, never allowed to stop the operator (the store buffers samples itself).
 *
 * Savings: a power-off is recorded with its predicted saving (src/savings/predict.ts); once its
 * host comes back on, or the prediction's window ends, the saving its meter readings show is
 * measured (src/savings/measure.ts), recorded on the action and passed to `onMeasured`.
 */
import { isObservable, type ObservedHost } from '../api/drivers.ts';
import type { PhysicalHost } from '../api/types.ts';
import type { Action } from '../planner/types.ts';
import { measureSaving } from '../savings/measure.ts';
import { predictSavings, SAVING_WINDOW_MS, totalPrediction } from '../savings/predict.ts';
import type { HistoryStore, MeasuredSaving, PredictedSaving } from '../store/types.ts';
import type { ActionResult } from './executor.ts';
import type { Logger } from './log.ts';
import type { RoundObserver } from './reconciler.ts';
import { powerStateWord } from './status.ts';

export interface HistoryObserverOptions {
  /** The window savings are predicted and measured over (default SAVING_WINDOW_MS, 1 h). */
  savingWindowMs?: number;
  /** Told of every measured saving once it is recorded (the policy's status sums them). */
  onMeasured?: (host: string, measured: MeasuredSaving) => void;
}

/** Readings this long before a power-off give the host's idle watts. */
const IDLE_LOOKBACK_MS = 3_600_000;

interface OpenSaving {
  host: string;
  storeId: Promise<string | undefined>;
  offAtMs: number;
  specIdleWatts?: number;
}

export function historyObserver(store: HistoryStore, log: Logger, options: HistoryObserverOptions = {}): RoundObserver {
  const windowMs = options.savingWindowMs ?? SAVING_WINDOW_MS;
  const storeIds = new Map<string, Promise<string | undefined>>();
  let lastDecision: Promise<string | undefined> = Promise.resolve(undefined);
  let predictions = new Map<string, PredictedSaving>();
  const open = new Map<string, OpenSaving>();
  let measuring: Promise<void> = Promise.resolve();
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
            ...(readingOf(h, o) !== undefined ? { watts: readingOf(h, o) } : {}),
            ...(o?.cpuLoadPercent !== undefined ? { cpuLoadPercent: o.cpuLoadPercent } : {}),
            ...(o?.memoryUsedMiB !== undefined ? { memoryUsedMiB: o.memoryUsedMiB } : {}),
            ...(vmCount !== undefined ? { vmCount } : {}),
            cpuCores: h.spec.capacity.cpuCores,
            memoryCapacityMiB: h.spec.capacity.memoryMiB,
          };
        }),
      );
      store.appendVmSamples(
        [...observed.values()].flatMap((o) =>
          o.domains.filter((d) => d.state === 'running' || d.state === 'migrating').map((d) => ({ vm: d.name, host: o.name, atMs: nowMs, cpuLoadPercent: d.cpuLoadPercent, memoryMiB: d.memoryMiB, vcpus: d.vcpus })),
        ),
      );
      // Power-offs whose host is back, or whose window is over: measure them (one at a time).
      for (const h of hosts) {
        const saving = open.get(h.metadata.name);
        if (!saving) continue;
        const state = powerStateWord(h, observed.get(h.metadata.name));
        const back = state === 'on' || state === 'booting';
        if (!back && nowMs < saving.offAtMs + windowMs) continue;
        open.delete(saving.host);
        const untilMs = back ? Math.min(nowMs, saving.offAtMs + windowMs) : saving.offAtMs + windowMs;
        measuring = measuring.then(() => measure(saving, untilMs, back && nowMs < saving.offAtMs + windowMs ? 'host-on' : 'window-end'));
      }
    },
    onPlanned(plan, snapshot, _policy, dryRun, nowMs) {
      predictions = predictSavings(plan, snapshot, windowMs);
      const predictedSaving = totalPrediction(predictions.values());
      lastDecision = store
        .recordDecision({ atMs: nowMs, strategy: plan.strategy, summary: plan.summary, actions: plan.actions.map((a) => stored(a, predictions)), dryRun, ...(predictedSaving ? { predictedSaving } : {}) })
        .catch(warn('decision'));
    },
    onActionStarted(id: string, action: Action, atMs: number) {
      storeIds.set(id, lastDecision.then((decisionId) => store.recordAction(stored(action, predictions), atMs, decisionId)).catch(warn('action')));
    },
    onActionDone(result: ActionResult) {
      const started = storeIds.get(result.id) ?? store.recordAction(stored(result.action, predictions), result.startedAtMs).catch(warn('action'));
      storeIds.delete(result.id);
      const { action } = result;
      if (action.type === 'power-off' && result.result === 'succeeded') {
        const predicted = predictions.get(action.host);
        open.set(action.host, { host: action.host, storeId: started, offAtMs: result.startedAtMs + result.durationMs, ...(predicted ? { specIdleWatts: predicted.watts } : {}) });
      }
      void started.then((storeId) =>
        storeId
          ? store.recordActionOutcome(storeId, { result: result.result, finishedAtMs: result.startedAtMs + result.durationMs, ...(result.result !== 'succeeded' ? { error: result.detail } : {}) }).catch(warn('action outcome'))
          : undefined,
      );
    },
  };

  async function measure(saving: OpenSaving, untilMs: number, ended: MeasuredSaving['ended']): Promise<void> {
    try {
      const storeId = await saving.storeId;
      if (!storeId) return;
      await store.flush();
      const readings = await store.hostSamples({ fromMs: saving.offAtMs - IDLE_LOOKBACK_MS, toMs: untilMs }, saving.host);
      const measured = measureSaving({ offAtMs: saving.offAtMs, untilMs, ended, readings, ...(saving.specIdleWatts !== undefined ? { specIdleWatts: saving.specIdleWatts } : {}) });
      if (!measured) {
        log.info(`saving of powering ${saving.host} off not measured: no reading while on and no idleWatts in its spec`);
        return;
      }
      await store.recordMeasuredSaving(storeId, measured);
      options.onMeasured?.(saving.host, measured);
    } catch (err) {
      warn(`measured saving of ${saving.host}`)(err);
    }
  }
}

/**
 * The host's watts now, if anything read them: its meter (written into status by the meter
 * agent) while fresh, else this observation's. Never a figure left in status from before: an
 * off host without a meter has no reading, not its last watts while on.
 */
function readingOf(host: PhysicalHost, observed: ObservedHost | undefined): number | undefined {
  if (!host.spec.meter) return observed?.watts;
  return host.status?.conditions?.some((c) => c.type === 'MeterFresh' && c.status === 'False') ? undefined : host.status?.watts;
}

/** The action as stored; a power-off carries the saving its plan predicted. */
function stored(action: Action, predictions: Map<string, PredictedSaving>) {
  const predictedSaving = action.type === 'power-off' ? predictions.get(action.host) : undefined;
  return { ...action, ...(predictedSaving ? { predictedSaving } : {}) };
}
