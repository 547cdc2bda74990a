/**
 * The rules no plan may break, checked independently of how strategies work: checkPlan()
 * replays the plan action by action on a plain copy of the snapshot. plan() runs it on every
 * plan it returns; property tests run it over thousands of random clusters.
 */
import { hostLoadPoints, pointsOn, vmDemandCores } from './units.ts';
import type { Action, HostSnapshot, Plan, PlannerPolicy, Snapshot, VmSnapshot } from './types.ts';

export interface Violation {
  rule: string;
  message: string;
}

interface HostReplay {
  snap: HostSnapshot;
  powerState: HostSnapshot['powerState'];
  load: number;
  memory: number;
  vms: Set<string>;
  received: boolean;
  powered: boolean;
}

export function checkPlan(snapshot: Snapshot, policy: PlannerPolicy, plan: Plan): Violation[] {
  const violations: Violation[] = [];
  const fail = (rule: string, message: string) => violations.push({ rule, message });
  const hosts = replayHosts(snapshot);
  const vms = new Map(snapshot.vms.filter((v) => hosts.has(v.host)).map((v) => [v.name, { snap: v, host: v.host }]));
  const movedVms = new Set<string>();
  let migrations = 0;

  plan.actions.forEach((action: Action, index) => {
    // Built only when something fails: plans on 10,000 hosts carry tens of thousands of actions.
    const at = { toString: () => `action ${index + 1} (${action.type})` };
    if (action.type === 'migrate') {
      migrations++;
      const vm = vms.get(action.vm);
      const from = hosts.get(action.from);
      const to = hosts.get(action.to);
      if (!vm || !from || !to) return fail('known-names', `${at}: unknown VM or host in ${action.vm} ${action.from}→${action.to}`);
      if (vm.host !== action.from) fail('from-current-host', `${at}: ${action.vm} is on ${vm.host}, not ${action.from}`);
      if (action.from === action.to) fail('real-move', `${at}: ${action.vm} moves to the host it is on`);
      if (movedVms.has(action.vm)) fail('move-once', `${at}: ${action.vm} moves twice in one plan`);
      movedVms.add(action.vm);
      const snap = vm.snap;
      if (snap.doNotMigrate) fail('do-not-migrate', `${at}: ${action.vm} is do-not-migrate`);
      if (snap.pinnedHost !== undefined && (snap.pinnedHost === action.from || snap.pinnedHost !== action.to)) {
        fail('pinned', `${at}: ${action.vm} is pinned to ${snap.pinnedHost}`);
      }
      if (snap.lastMigratedAtMs !== undefined && policy.migrationCooldownMs > 0 && snapshot.atMs - snap.lastMigratedAtMs < policy.migrationCooldownMs) {
        fail('migration-cooldown', `${at}: ${action.vm} is in its migration cooldown`);
      }
      if (to.snap.maintenance) fail('maintenance', `${at}: ${action.to} is in maintenance and receives ${action.vm}`);
      if (to.snap.evacuate) fail('evacuating', `${at}: ${action.to} is being evacuated and receives ${action.vm}`);
      if (to.powerState !== 'on') fail('target-on', `${at}: ${action.to} is ${to.powerState}`);
      const demand = vmDemandCores(snap);
      from.load -= pointsOn(demand, from.snap);
      from.memory -= snap.memoryMiB;
      from.vms.delete(action.vm);
      to.load += pointsOn(demand, to.snap);
      to.memory += snap.memoryMiB;
      to.vms.add(action.vm);
      to.received = true;
      vm.host = action.to;
    } else if (action.type === 'power-off' || action.type === 'power-on') {
      const host = hosts.get(action.host);
      if (!host) return fail('known-names', `${at}: unknown host ${action.host}`);
      if (host.powered) fail('power-once', `${at}: ${action.host} is powered twice in one plan`);
      host.powered = true;
      // powerPolicy Off is an administrator's order: it powers off a host in maintenance or being
      // evacuated, and nothing Tide weighs for itself (standby, windows, cooldown) holds it.
      const ordered = action.type === 'power-off' && action.reason === 'PowerPolicyOff';
      if (ordered && !host.snap.keepOff) fail('keep-off', `${at}: ${action.host} is powered off for powerPolicy Off, which it does not have`);
      if (!ordered && host.snap.maintenance) fail('maintenance', `${at}: ${action.host} is in maintenance`);
      if (!ordered && host.snap.evacuate) fail('evacuating', `${at}: ${action.host} is being evacuated: evacuation never powers a host`);
      const last = host.snap.lastPowerActionAtMs;
      // The cooldown guards against Tide's own flapping; an administrator forbidding standby overrides it.
      const forced = ordered || (action.type === 'power-on' && action.reason === 'StandbyNotAllowed');
      if (!forced && last !== undefined && policy.powerCooldownMs > 0 && snapshot.atMs - last < policy.powerCooldownMs) {
        fail('power-cooldown', `${at}: ${action.host} is in its power cooldown`);
      }
      if (action.type === 'power-off') {
        if (host.powerState !== 'on') fail('power-off-on', `${at}: ${action.host} is ${host.powerState}`);
        if (host.vms.size > 0) fail('power-off-empty', `${at}: ${action.host} still has ${[...host.vms].join(', ')}`);
        if (!ordered && !host.snap.standbyAllowed) fail('standby-allowed', `${at}: ${action.host} may not be put in standby`);
        if (!ordered && !policy.consolidationAllowed) fail('consolidation-allowed', `${at}: powering off outside the off-peak windows`);
        host.powerState = 'off';
      } else {
        if (host.snap.keepOff) fail('keep-off', `${at}: ${action.host} is to be kept off (powerPolicy Off)`);
        if (host.snap.canPowerOn === false) fail('can-power-on', `${at}: ${action.host} has no power-on method`);
        if (host.powerState !== 'off') fail('power-on-off', `${at}: ${action.host} is ${host.powerState}`);
        host.powerState = 'booting';
      }
    }
  });

  if (policy.maxMigrationsPerPlan > 0 && migrations > policy.maxMigrationsPerPlan) {
    fail('migration-cap', `${migrations} migrations > cap ${policy.maxMigrationsPerPlan}`);
  }
  for (const [name, host] of hosts) {
    if (host.powerState === 'off' && host.vms.size > 0) fail('power-off-empty', `${name} ends off with VMs on it`);
    if (!host.received) continue;
    if (host.load > 100 + 1e-6) fail('cpu-capacity', `${name} receives VMs and ends at ${host.load} % CPU`);
    if (host.memory > host.snap.memoryMiB) fail('memory-capacity', `${name} receives VMs and ends with ${host.memory} of ${host.snap.memoryMiB} MiB`);
  }
  const powersOff = plan.actions.some((a) => a.type === 'power-off' && a.reason !== 'PowerPolicyOff');
  // Booting hosts do not count: a power-on may fail, or never have been sent.
  const onAfter = [...hosts.values()].filter((h) => h.powerState === 'on').length;
  if (powersOff && onAfter < policy.minHostsOn) fail('min-hosts-on', `${onAfter} hosts on after the plan < minHostsOn ${policy.minHostsOn}`);
  checkAntiAffinity(hosts, vms, movedVms, fail);
  return violations;
}

function replayHosts(snapshot: Snapshot): Map<string, HostReplay> {
  const byHost = new Map<string, VmSnapshot[]>();
  for (const vm of snapshot.vms) {
    const list = byHost.get(vm.host);
    if (list) list.push(vm);
    else byHost.set(vm.host, [vm]);
  }
  return new Map(
    snapshot.hosts.map((h) => {
      const vms = byHost.get(h.name) ?? [];
      const load = hostLoadPoints(h, vms);
      const memory = vms.reduce((sum, vm) => sum + vm.memoryMiB, 0);
      return [h.name, { snap: h, powerState: h.powerState, load, memory, vms: new Set(vms.map((v) => v.name)), received: false, powered: false }];
    }),
  );
}

/** A VM that moves never lands beside another VM of its anti-affinity group. */
function checkAntiAffinity(
  hosts: Map<string, HostReplay>,
  vms: Map<string, { snap: VmSnapshot; host: string }>,
  moved: Set<string>,
  fail: (rule: string, message: string) => void,
): void {
  for (const name of moved) {
    const vm = vms.get(name);
    const group = vm?.snap.antiAffinityGroup;
    if (!vm || !group) continue;
    const host = hosts.get(vm.host)!;
    const clash = [...host.vms].find((other) => other !== name && vms.get(other)?.snap.antiAffinityGroup === group);
    if (clash) fail('anti-affinity', `${name} lands on ${vm.host} beside ${clash} of anti-affinity group ${group}`);
  }
}
