/**
 * In which order may a plan's migrations run? Pure: snapshot and plan in, dependencies out.
 *
 * checkPlan() proves the plan's *end* state fits every host. The executor runs migrations
 * concurrently, and any of them may fail, so the states on the way matter too: "v8 h2→h1,
 * v3 h0→h2" fits at the end, but if v3 lands on h2 before v8 has left (or v8 fails), h2 holds
 * both and a guest may be OOM-killed. While a live migration runs, the VM's memory is taken on
 * both hosts, so an arrival must never count on a departure that has not *finished*.
 *
 * The rule, per receiving host T:
 * - "free" arrivals fit on T as it is now, with every VM still on it, even all at once; they
 *   wait for nothing;
 * - every other arrival waits until every departure from T has succeeded, and is cancelled if
 *   one fails (its room did not appear). The end state then bounds T, and checkPlan holds that.
 * Arrivals that need room on T held by a departure that itself needs room freed by that
 * arrival (a cycle, e.g. a swap of two VMs on two full hosts) can run in no safe order: they
 * are reported unschedulable and do not run.
 */
import type { MigrateAction, Plan, Snapshot, VmSnapshot } from './types.ts';
import { EPSILON, hostLoadPoints, pointsOn, vmDemandCores } from './units.ts';

export interface MigrationSchedule {
  /** Index in plan.actions of a migration → indices of the migrations that must succeed first. */
  waitsFor: Map<number, number[]>;
  /** Index of a migration that can run in no safe order → why. */
  unschedulable: Map<number, string>;
}

interface HostUse {
  cpuCores: number;
  memoryMiB: number;
  load: number;
  memory: number;
}

export function scheduleMigrations(snapshot: Snapshot, plan: Plan): MigrationSchedule {
  const vms = new Map(snapshot.vms.map((v) => [v.name, v]));
  const use = hostUse(snapshot);
  const migrations = plan.actions.flatMap((a, index) => (a.type === 'migrate' ? [{ a, index }] : []));
  const departures = groupBy(migrations, (m) => m.a.from);
  const arrivals = groupBy(migrations, (m) => m.a.to);

  const waitsFor = new Map<number, number[]>();
  const unschedulable = new Map<number, string>();
  for (const [to, list] of arrivals) {
    const host = use.get(to);
    const leaving = (departures.get(to) ?? []).map((m) => m.index);
    let load = host?.load ?? 0;
    let memory = host?.memory ?? 0;
    for (const { a, index } of list) {
      const vm = vms.get(a.vm);
      const needs = vm && host ? demand(vm, host) : undefined;
      if (host && needs && load + needs.points <= 100 + EPSILON && memory + needs.memoryMiB <= host.memoryMiB) {
        load += needs.points;
        memory += needs.memoryMiB;
        waitsFor.set(index, []);
      } else if (leaving.length > 0) {
        waitsFor.set(index, leaving);
      } else {
        unschedulable.set(index, `${describeMove(a)}: no room on ${to} and nothing leaves it`);
      }
    }
  }
  for (const { index } of migrations) if (!waitsFor.has(index) && !unschedulable.has(index)) waitsFor.set(index, []);
  markCycles(migrations.map((m) => m.index), waitsFor, unschedulable, plan);
  return { waitsFor, unschedulable };
}

function hostUse(snapshot: Snapshot): Map<string, HostUse> {
  const byHost = groupBy(snapshot.vms, (v) => v.host);
  return new Map(
    snapshot.hosts.map((h) => {
      const on = byHost.get(h.name) ?? [];
      const load = hostLoadPoints(h, on);
      return [h.name, { cpuCores: h.cpuCores, memoryMiB: h.memoryMiB, load, memory: on.reduce((sum, vm) => sum + vm.memoryMiB, 0) }];
    }),
  );
}

function demand(vm: VmSnapshot, host: HostUse): { points: number; memoryMiB: number } {
  return { points: pointsOn(vmDemandCores(vm), host), memoryMiB: vm.memoryMiB };
}

/**
 * A migration that waits (directly or through others) on itself never starts; neither does one
 * that waits on an unschedulable migration. Both are marked, so nothing waits forever.
 */
function markCycles(indices: number[], waitsFor: Map<number, number[]>, unschedulable: Map<number, string>, plan: Plan): void {
  const state = new Map<number, 'visiting' | 'ok' | 'bad'>();
  const visit = (i: number): boolean => {
    const s = state.get(i);
    if (s === 'ok') return true;
    if (s === 'bad' || s === 'visiting') return false;
    if (unschedulable.has(i)) return state.set(i, 'bad'), false;
    state.set(i, 'visiting');
    const blocker = (waitsFor.get(i) ?? []).find((d) => !visit(d));
    if (blocker === undefined) return state.set(i, 'ok'), true;
    state.set(i, 'bad');
    const why = `${describeMove(plan.actions[i] as MigrateAction)} waits for ${describeMove(plan.actions[blocker] as MigrateAction)}, which cannot run safely (no room, or moves that each need the room the other frees)`;
    unschedulable.set(i, why);
    return false;
  };
  for (const i of indices) visit(i);
  for (const i of unschedulable.keys()) waitsFor.delete(i);
}

function describeMove(a: MigrateAction): string {
  return `${a.vm} ${a.from}→${a.to}`;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}
