/**
 * Several ConsolidationPolicies, one per rack or cluster: each governs the hosts its
 * hostSelector selects, and only those. A host two or more policies select is governed by none
 * of them — whose thresholds would apply, whose evaluation may move its VMs? — so it is observed
 * and reported, and left out of every plan until the selectors are made disjoint.
 *
 * Worked out once per round, and every later question (which policy governs this host, this
 * VM's host, this migration record) is a map lookup. A host is matched only against the policies
 * whose selector shares one of its labels (an index on one label of each selector), so the cost
 * grows with hosts × labels, not hosts × policies (bench/policy-scope.bench.ts). Pure.
 */
import type { ConsolidationPolicy, PhysicalHost, PhysicalHostStatus } from '../api/types.ts';
import { setCondition, type ConditionUpdate } from './conditions.ts';

export interface PolicyGroup {
  policy: ConsolidationPolicy;
  /** The hosts this policy alone selects: all it plans, observes and reports on. */
  hosts: PhysicalHost[];
  /** Hosts it selects that another policy selects too: left alone (host name → the other policies). */
  overlapping: Map<string, string[]>;
}

export interface PolicyScope {
  /** One per policy, the oldest first. */
  groups: PolicyGroup[];
  /** Every host this instance observes: the groups' hosts and the overlapping ones. */
  hosts: PhysicalHost[];
  /** Host name → the policy that alone governs it. */
  policyOf: Map<string, ConsolidationPolicy>;
  /** Host name → the names of the two or more policies that select it (oldest first). */
  overlaps: Map<string, string[]>;
}

/** Oldest first, then by name: the order rounds plan policies in (and the old "policy in force"). */
export function byAge(policies: ConsolidationPolicy[]): ConsolidationPolicy[] {
  return [...policies].sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || a.metadata.name.localeCompare(b.metadata.name));
}

/** Does `policy` select `host`? All hosts without a hostSelector. */
export function selects(policy: ConsolidationPolicy, host: PhysicalHost): boolean {
  const labels = policy.spec.hostSelector?.matchLabels;
  if (!labels) return true;
  for (const key in labels) if (host.metadata.labels?.[key] !== labels[key]) return false;
  return true;
}

/**
 * Groups `hosts` by the policies that select them. `observeUnselected`: hosts no policy selects
 * are observed too (only when there is no policy at all and this instance owns every policy:
 * Tide then observes without acting, as before any policy is applied).
 */
export function policyScope(policies: ConsolidationPolicy[], hosts: PhysicalHost[], observeUnselected: boolean): PolicyScope {
  const ordered = byAge(policies);
  const groups: PolicyGroup[] = ordered.map((policy) => ({ policy, hosts: [], overlapping: new Map() }));
  // Each policy indexed under one of its matchLabels (key=value); those without any select every host.
  const order = new Map(groups.map((g, i) => [g, i]));
  const everyHost: PolicyGroup[] = [];
  const byLabel = new Map<string, PolicyGroup[]>();
  for (const g of groups) {
    const first = Object.entries(g.policy.spec.hostSelector?.matchLabels ?? {})[0];
    if (!first) everyHost.push(g);
    else byLabel.set(`${first[0]}=${first[1]}`, [...(byLabel.get(`${first[0]}=${first[1]}`) ?? []), g]);
  }
  const candidates = (host: PhysicalHost): PolicyGroup[] => {
    const found = [...everyHost];
    for (const key in host.metadata.labels ?? {}) found.push(...(byLabel.get(`${key}=${host.metadata.labels![key]}`) ?? []));
    // In the groups' order (oldest first), as the conditions name them.
    return found.length > 1 ? found.sort((a, b) => order.get(a)! - order.get(b)!) : found;
  };
  const scoped: PhysicalHost[] = [];
  const policyOf = new Map<string, ConsolidationPolicy>();
  const overlaps = new Map<string, string[]>();
  for (const host of hosts) {
    const selecting = candidates(host).filter((g) => selects(g.policy, host));
    if (selecting.length === 0) {
      if (observeUnselected) scoped.push(host);
      continue;
    }
    scoped.push(host);
    if (selecting.length === 1) {
      selecting[0]!.hosts.push(host);
      policyOf.set(host.metadata.name, selecting[0]!.policy);
      continue;
    }
    const names = selecting.map((g) => g.policy.metadata.name);
    overlaps.set(host.metadata.name, names);
    for (const g of selecting) g.overlapping.set(host.metadata.name, names.filter((n) => n !== g.policy.metadata.name));
  }
  return { groups, hosts: scoped, policyOf, overlaps };
}

const policyList = (names: string[]) => `${names.length === 1 ? 'ConsolidationPolicy' : 'ConsolidationPolicies'} ${names.join(', ')}`;

/** The policy's HostsOverlap condition: True naming the hosts it shares (and with whom), False when it shares none. */
export function hostsOverlapCondition(group: PolicyGroup): ConditionUpdate {
  if (group.overlapping.size === 0) {
    return { type: 'HostsOverlap', status: 'False', reason: 'NoOverlap', message: `no host it selects is selected by another ConsolidationPolicy (${group.hosts.length} hosts governed)` };
  }
  const shared = [...group.overlapping].sort(([a], [b]) => a.localeCompare(b));
  const shown = shared.slice(0, 20).map(([host, others]) => `${host} (also ${policyList(others)})`).join(', ');
  const more = shared.length > 20 ? ` and ${shared.length - 20} more` : '';
  return {
    type: 'HostsOverlap',
    status: 'True',
    reason: 'HostsSelectedByOtherPolicies',
    message: `${shared.length} host${shared.length === 1 ? '' : 's'} it selects ${shared.length === 1 ? 'is' : 'are'} selected by another policy too, so no policy governs ${shared.length === 1 ? 'it' : 'them'} and Tide leaves ${shared.length === 1 ? 'it' : 'them'} alone (no VM moved, no power action) until the hostSelectors are disjoint: ${shown}${more}`,
  };
}

/**
 * A host's PolicyConflict condition: present (True) while two or more policies select it, gone
 * otherwise, so a host as it should be carries no word of it.
 */
export function withPolicyConflict(status: PhysicalHostStatus, policies: string[] | undefined, nowIso: string, generation?: number): PhysicalHostStatus {
  if (!policies) {
    if (!status.conditions?.some((c) => c.type === 'PolicyConflict')) return status;
    return { ...status, conditions: status.conditions.filter((c) => c.type !== 'PolicyConflict') };
  }
  const update: ConditionUpdate = {
    type: 'PolicyConflict',
    status: 'True',
    reason: 'SelectedBySeveralPolicies',
    message: `selected by ${policyList(policies)}: no policy governs this host, so Tide moves none of its VMs, places none here and powers it neither off nor on until exactly one hostSelector selects it`,
  };
  return { ...status, conditions: setCondition(status.conditions, update, nowIso, generation) };
}
