/**
 * One libvirt domain, one VirtualMachinePlacement. Placements live in any namespace, but a
 * domain name is unique across the hosts Tide governs: were two placements of one domain both
 * heeded, a team could override another's pinning or doNotMigrate from its own namespace. The
 * oldest claim wins (creationTimestamp, then namespace/name); the others are conflicts, which
 * Tide reports (condition Conflict) and otherwise ignores: nothing moves on their account.
 */
import type { VirtualMachinePlacement, VirtualMachinePlacementStatus } from '../api/types.ts';
import { setCondition } from './conditions.ts';

export interface Claims {
  /** The placement that governs each claimed domain: what the planner and the executor see. */
  managed: VirtualMachinePlacement[];
  /** Placements whose domain an older placement already claims, each with that winner. */
  conflicts: Array<{ placement: VirtualMachinePlacement; winner: VirtualMachinePlacement }>;
}

const key = (p: VirtualMachinePlacement) => `${p.metadata.namespace ?? ''}/${p.metadata.name}`;

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Older first: creationTimestamp (RFC 3339 in UTC sorts as text), then namespace/name. Each
 * placement's keys are made once and compared as plain text, not with localeCompare: this sort
 * runs several times a round, and at 100,000 placements it took most of a second. (For the
 * characters a timestamp and a namespace/name may hold, text order is localeCompare's.)
 */
function olderFirst(placements: VirtualMachinePlacement[]): VirtualMachinePlacement[] {
  const keyed = placements.map((p) => ({ p, created: p.metadata.creationTimestamp ?? '', key: key(p) }));
  keyed.sort((a, b) => compareText(a.created, b.created) || compareText(a.key, b.key));
  return keyed.map((k) => k.p);
}

export function resolveClaims(placements: VirtualMachinePlacement[]): Claims {
  const winners = new Map<string, VirtualMachinePlacement>();
  const claims: Claims = { managed: [], conflicts: [] };
  for (const p of olderFirst(placements)) {
    const winner = winners.get(p.spec.domain);
    if (winner) claims.conflicts.push({ placement: p, winner });
    else {
      winners.set(p.spec.domain, p);
      claims.managed.push(p);
    }
  }
  return claims;
}

/** `status` with the Conflict condition a placement should show: True naming the winner, else False. */
export function withClaimConditions(
  status: VirtualMachinePlacementStatus,
  placement: VirtualMachinePlacement,
  winner: VirtualMachinePlacement | undefined,
  nowIso: string,
): VirtualMachinePlacementStatus {
  const generation = placement.metadata.generation;
  if (!winner) {
    return { ...status, conditions: setCondition(status.conditions, { type: 'Conflict', status: 'False', reason: 'SoleClaim', message: `no older placement claims domain ${placement.spec.domain}` }, nowIso, generation) };
  }
  const message = `domain ${placement.spec.domain} is already claimed by VirtualMachinePlacement ${key(winner)} (created ${winner.metadata.creationTimestamp}): the oldest claim wins, and Tide ignores this one (it moves nothing on its account) until that claim is deleted`;
  let conditions = setCondition(status.conditions, { type: 'Conflict', status: 'True', reason: 'DomainClaimed', message }, nowIso, generation);
  conditions = setCondition(conditions, { type: 'Ready', status: 'False', reason: 'Conflict', message: `ignored: ${message}` }, nowIso, generation);
  return { ...status, observedGeneration: generation, conditions };
}
