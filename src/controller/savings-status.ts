/**
 * Adds each measured saving (history.ts) to `measuredEnergySavedWh` of the policy that governs the host.
 * The status keeps the running total, so it survives restarts and leader changes; each
 * saving is measured once, by the replica that powered the host off.
 */
import { CONSOLIDATION_POLICY } from '../api/crds.ts';
import type { ConsolidationPolicy, ConsolidationPolicyStatus } from '../api/types.ts';
import type { ClusterWriter } from './cluster.ts';
import type { Logger } from './log.ts';
import type { MeasuredSaving } from '../store/types.ts';

export function measuredSavingsWriter(writer: ClusterWriter, policyOf: (host: string) => ConsolidationPolicy | undefined, log: Logger): (host: string, measured: MeasuredSaving) => void {
  let writes: Promise<void> = Promise.resolve();
  return (host, measured) => {
    const policy = policyOf(host);
    if (!policy) return;
    const add = Math.round(measured.energyWh * 1000) / 1000;
    writes = writes.then(() =>
      writer
        .updateStatus<ConsolidationPolicyStatus>({ def: CONSOLIDATION_POLICY, name: policy.metadata.name }, (s) => ({
          ...s,
          measuredEnergySavedWh: Math.round(((s.measuredEnergySavedWh ?? 0) + add) * 1000) / 1000,
        }))
        .catch((err) => log.warn(`measured saving of ${host} not added to the policy's status: ${(err as Error).message}`)),
    );
  };
}
