/** Status conditions in the Kubernetes API convention (metav1.Condition). Pure functions. */
import type { Condition } from '../api/types.ts';

export interface ConditionUpdate {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/**
 * Returns `conditions` with `update` set. lastTransitionTime only moves when the status
 * changes, so `kubectl describe` shows how long a host has been, say, unreachable.
 */
export function setCondition(
  conditions: Condition[] | undefined,
  update: ConditionUpdate,
  nowIso: string,
  observedGeneration?: number,
): Condition[] {
  const list = conditions ? [...conditions] : [];
  const index = list.findIndex((c) => c.type === update.type);
  const previous = index >= 0 ? list[index] : undefined;
  const next: Condition = {
    ...update,
    message: update.message.slice(0, 32768),
    lastTransitionTime: previous && previous.status === update.status ? previous.lastTransitionTime : nowIso,
    ...(observedGeneration !== undefined ? { observedGeneration } : {}),
  };
  if (index >= 0) list[index] = next;
  else list.push(next);
  return list;
}

export function setConditions(
  conditions: Condition[] | undefined,
  updates: ConditionUpdate[],
  nowIso: string,
  observedGeneration?: number,
): Condition[] {
  return updates.reduce((list, u) => setCondition(list, u, nowIso, observedGeneration), conditions ?? []);
}

export function findCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
