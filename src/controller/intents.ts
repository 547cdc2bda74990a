/**
 * Crash safety. Every migration and power action is written to the resource's status
 * (phase Running) before it starts. When the controller finds such a record that no part of
 * this process is carrying out — typically after a restart — it settles it against what the
 * hosts report now. Pure functions: observation in, verdict out.
 */
import type { ObservedHost } from '../api/drivers.ts';
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
  const blind = [record.from, record.to].some((h) => !observed.get(h)?.reachable);
  if (blind && !timedOut) return { settle: false, why: `cannot see ${record.from} and ${record.to} yet` };
  return { settle: true, phase: 'Failed', why: `${domain} is not running on any observed host` };
}

/** Settles an interrupted power action on `host` from its observed state. */
export function settlePowerAction(record: PowerActionRecord, observed: ObservedHost | undefined, nowMs: number, timeoutMs: number): Verdict {
  const timedOut = nowMs - Date.parse(record.startedAt) > timeoutMs;
  const running = observed?.domains.filter((d) => d.state !== 'shutoff') ?? [];
  if (record.type === 'PowerOn') {
    if (observed?.reachable && observed.powerState === 'on') return { settle: true, phase: 'Succeeded', why: 'host is up' };
    if (!timedOut) return { settle: false, why: 'host still booting' };
    return { settle: true, phase: 'Failed', why: `host did not come up within ${Math.round(timeoutMs / 1000)} s` };
  }
  if (observed?.powerState === 'off') return { settle: true, phase: 'Succeeded', why: 'host is off' };
  if (observed?.reachable && running.length > 0) {
    return { settle: true, phase: 'Failed', why: `not powered off: ${running.length} VMs still run there (${running.map((d) => d.name).join(', ')})` };
  }
  if (observed?.reachable) return { settle: true, phase: 'Failed', why: 'interrupted before the host went down; the next round decides again' };
  if (!timedOut) return { settle: false, why: 'host going down' };
  return { settle: true, phase: 'Succeeded', why: `host unreachable ${Math.round(timeoutMs / 1000)} s after power-off` };
}
