/**
 * Can a ConsolidationPolicy's constraints be met by the hosts there are? A policy asking for
 * more hosts on than it governs, selecting no host, or governing only hosts in maintenance is
 * accepted by the API server (the numbers live in different objects) and would otherwise only
 * show as a plan that never does what was asked. Pure: the policy and the hosts in, a condition
 * out, with the numbers.
 */
import type { ConsolidationPolicy, PhysicalHost } from '../api/types.ts';
import type { ConditionUpdate } from './conditions.ts';

/** The hosts a policy governs: those its hostSelector matches (all without one). */
export function selectedBy(policy: ConsolidationPolicy | undefined, hosts: PhysicalHost[]): PhysicalHost[] {
  const labels = policy?.spec.hostSelector?.matchLabels ?? {};
  return hosts.filter((h) => Object.entries(labels).every(([k, v]) => h.metadata.labels?.[k] === v));
}

export function satisfiability(policy: ConsolidationPolicy, allHosts: PhysicalHost[]): ConditionUpdate {
  const hosts = allHosts.filter((h) => !h.metadata.deletionTimestamp);
  const governed = selectedBy(policy, hosts);
  const maintenance = governed.filter((h) => h.spec.maintenance).length;
  // powerPolicy Off keeps a host off (once empty): it can never be one of the minHostsOn.
  const keptOff = governed.filter((h) => !h.spec.maintenance && h.spec.powerPolicy === 'Off').length;
  const notInMaintenance = governed.length - maintenance;
  const usable = notInMaintenance - keptOff;
  const minHostsOn = policy.spec.minHostsOn;
  const labels = Object.entries(policy.spec.hostSelector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  const no = (reason: string, message: string): ConditionUpdate => ({ type: 'Satisfiable', status: 'False', reason, message });
  if (governed.length === 0) {
    return no('NoHostsSelected', labels.length
      ? `hostSelector ${labels.join(',')} selects none of the ${hosts.length} PhysicalHosts: Tide governs no host`
      : 'there is no PhysicalHost: Tide governs no host');
  }
  if (notInMaintenance === 0) {
    return no('AllHostsInMaintenance', `all ${governed.length} governed host${governed.length === 1 ? ' is' : 's are'} in maintenance: Tide places no VM and powers no host`);
  }
  if (minHostsOn > usable) {
    return no('MinHostsOnUnreachable', `minHostsOn ${minHostsOn} > ${usable} governed host${usable === 1 ? '' : 's'} ${keptOff ? 'that may stay on' : 'not in maintenance'} (${governed.length} governed, ${maintenance} in maintenance${keptOff ? `, ${keptOff} kept off by powerPolicy Off` : ''}): Tide never powers a host off`);
  }
  return { type: 'Satisfiable', status: 'True', reason: 'Satisfiable', message: `minHostsOn ${minHostsOn} ≤ ${usable} governed host${usable === 1 ? '' : 's'} not in maintenance (${governed.length} governed)` };
}
