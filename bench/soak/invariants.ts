/**
 * What must hold after every step of a soak, checked on the simulated data centre itself (the
 * ground truth, not what the operator believes). Pure: give it the fleet, get the violations.
 */
import type { SimDataCentre } from '../../src/sim/datacentre.ts';

export interface Violation {
  kind: 'vm-lost' | 'vm-on-two-hosts' | 'host-off-with-vm' | 'below-min-hosts-on' | 'pinned-moved' | 'migration-cooldown' | 'split-brain';
  atMs: number;
  detail: string;
}

export interface FleetRules {
  /** Every VM the fleet started with. */
  vms: readonly string[];
  minHostsOn: number;
  /** VMs that must never move (pinned or doNotMigrate), with the host they started on. */
  fixed: ReadonlyMap<string, string>;
}

/** The state invariants: every VM on exactly one running host, no host off with a VM, enough hosts on, fixed VMs in place. */
export function checkFleet(dc: SimDataCentre, rules: FleetRules): Violation[] {
  const atMs = dc.now();
  const out: Violation[] = [];
  const holders = new Map<string, string[]>();
  for (const host of dc.hosts.values()) {
    for (const vm of host.vms) holders.set(vm.spec.name, [...(holders.get(vm.spec.name) ?? []), host.spec.name]);
    if (host.powerState !== 'on' && host.powerState !== 'booting' && (host.vms.size > 0 || host.migrations > 0)) {
      out.push({ kind: 'host-off-with-vm', atMs, detail: `${host.spec.name} is ${host.powerState} with ${[...host.vms].map((v) => v.spec.name).join(', ') || 'a migration'} on it` });
    }
  }
  for (const name of rules.vms) {
    const on = holders.get(name) ?? [];
    const running = on.filter((h) => dc.hosts.get(h)!.powerState === 'on');
    if (on.length > 1) out.push({ kind: 'vm-on-two-hosts', atMs, detail: `${name} runs on ${on.join(' and ')}` });
    else if (running.length === 0) out.push({ kind: 'vm-lost', atMs, detail: `${name} runs on no running host${on.length ? ` (its host ${on[0]} is ${dc.hosts.get(on[0])!.powerState})` : ''}` });
    const fixedOn = rules.fixed.get(name);
    if (fixedOn !== undefined && on.length === 1 && on[0] !== fixedOn) out.push({ kind: 'pinned-moved', atMs, detail: `${name} must stay on ${fixedOn} but runs on ${on[0]}` });
  }
  const hostsOn = [...dc.hosts.values()].filter((h) => h.powerState === 'on').length;
  if (hostsOn < rules.minHostsOn) out.push({ kind: 'below-min-hosts-on', atMs, detail: `${hostsOn} host(s) on, minHostsOn is ${rules.minHostsOn}` });
  return out;
}

/** VMs lost for good: not on exactly one running host. */
export function vmsLost(dc: SimDataCentre, vms: readonly string[]): number {
  return vms.filter((name) => {
    const vm = dc.vms.get(name);
    if (!vm || vm.host.powerState !== 'on') return true;
    return [...dc.hosts.values()].filter((h) => h.vms.has(vm)).length !== 1;
  }).length;
}

/**
 * A migration may start only a cooldown after the VM's previous one ended, and never for a VM
 * that must not move. Called as each migration starts in the data centre.
 */
export function checkMigrationStart(domain: string, atMs: number, lastEndedAtMs: number | undefined, cooldownMs: number, fixed: ReadonlyMap<string, string>): Violation[] {
  const out: Violation[] = [];
  if (fixed.has(domain)) out.push({ kind: 'pinned-moved', atMs, detail: `a migration of ${domain} started, which is pinned or doNotMigrate` });
  if (lastEndedAtMs !== undefined && atMs - lastEndedAtMs < cooldownMs) {
    out.push({ kind: 'migration-cooldown', atMs, detail: `${domain} migrates again ${(atMs - lastEndedAtMs) / 1000} s after its last migration ended (cooldown ${cooldownMs / 1000} s)` });
  }
  return out;
}
