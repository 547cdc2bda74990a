/**
 * Crash safety. Every migration and power action is written to the resource's status
 * (phase Running) before it starts. When the controller finds such a record that no part of
 * this process is carrying out — typically after a restart — it settles it against what the
 * hosts report now. Pure functions: observation in, verdict out.
 */
import { isObservable, type ObservedHost } from '../api/drivers.ts';
import type { MigrationRecord, PowerActionRecord } from '../api/types.ts';

export type Verdict =
  | { settle: false; why: string }
  | { settle: true; phase: 'Succeeded' | 'Failed'; why: string; runningOn?: string };

export function isUnfinished(record: { phase: string } | undefined): boolean {
  return record?.phase === 'Pending' || record?.phase === 'Running';
}

/** Settles an interrupted migration of `domain` from where the domain is observed now. */
export function settleMigration(domain: string, record: MigrationRecord, observed: Map<string, ObservedHost>, nowMs: number, timeoutMs: number): Verdict {
  const where = [...observed.values()].flatMap((h) => h.domains.filter((d) => d.name === domain).map((d) => ({ host: h.name, state: d.state })));
  const onTarget = where.find((w) => w.host === record.to && w.state === 'running');
  const onSource = where.find((w) => w.host === record.from && w.state === 'running');
  const inFlight = where.some((w) => w.state === 'migrating' || w.state === 'paused');
  const timedOut = nowMs - Date.parse(record.startedAt) > timeoutMs;
  if (onTarget && !onSource) return { settle: true, phase: 'Succeeded', why: `found running on ${record.to} after the operator restarted`, runningOn: record.to };
  if (inFlight && !timedOut) return { settle: false, why: 'libvirt still reports the migration in progress' };
  if (onSource) {
    return { settle: true, phase: 'Failed', why: `interrupted: the operator stopped mid-migration and ${domain} is still running on ${record.from}; the next round decides again`, runningOn: record.from };
  }
  const running = where.find((w) => w.state === 'running');
  if (running) return { settle: true, phase: 'Failed', why: `interrupted: ${domain} is running on ${running.host}`, runningOn: running.host };
  const blind = [record.from, record.to].some((h) => !isObservable(observed.get(h)));
  if (blind && !timedOut) return { settle: false, why: `cannot see ${record.from} and ${record.to} yet` };
  return { settle: true, phase: 'Failed', why: `${domain} is not running on any observed host` };
}

/**
 * Settles an interrupted power action on `host` from its observed state.
 *
 * A power-off still within its shutdown timeout is left open even while the host answers: the
 * replica that started it (a deposed leader, a process being replaced) may have sent
 * `systemctl poweroff` a moment ago, and the host answers until it goes down. Settling it as
 * interrupted would offer a host that is about to go down as a migration target.
 */
export function settlePowerAction(record: PowerActionRecord, observed: ObservedHost | undefined, nowMs: number, timeoutMs: number): Verdict {
  const timedOut = nowMs - Date.parse(record.startedAt) > timeoutMs;
  const seen = isObservable(observed);
  const running = seen ? observed!.domains.filter((d) => d.state !== 'shutoff') : [];
  if (record.type === 'PowerOn') {
    if (seen && observed!.powerState === 'on') return { settle: true, phase: 'Succeeded', why: 'host is up' };
    if (!timedOut) return { settle: false, why: 'host still booting' };
    return { settle: true, phase: 'Failed', why: `host did not come up within ${Math.round(timeoutMs / 1000)} s` };
  }
  if (observed?.powerState === 'off') return { settle: true, phase: 'Succeeded', why: 'host is off' };
  if (running.length > 0) {
    return { settle: true, phase: 'Failed', why: `not powered off: ${running.length} VMs still run there (${running.map((d) => d.name).join(', ')})` };
  }
  if (!timedOut) return { settle: false, why: 'the power-off may still be under way' };
  if (seen) return { settle: true, phase: 'Failed', why: `still up ${Math.round(timeoutMs / 1000)} s after the power-off began; the next round decides again` };
  if (observed?.reachable) return { settle: false, why: 'host answers but cannot be observed in full' };
  return { settle: true, phase: 'Succeeded', why: `host unreachable ${Math.round(timeoutMs / 1000)} s after power-off` };
}
