/** `virsh domjobinfo --rawstats` and `virsh domstate`: commands and defensive parsers. */
import { badReply } from './errors.ts';
import { shellCommand } from './shell-quote.ts';

export interface JobInfo {
  /** A migration (or other job) is running on the domain. */
  active: boolean;
  /** How long the job has run, per libvirt. */
  elapsedMs?: number;
  /** Share of the data copied so far, 0–100, once libvirt knows the total. */
  percent?: number;
}

export const jobInfoCommand = (libvirtUri: string, domain: string) =>
  shellCommand(['virsh', '-c', libvirtUri, 'domjobinfo', '--rawstats', domain]);

export const jobAbortCommand = (libvirtUri: string, domain: string) => shellCommand(['virsh', '-c', libvirtUri, 'domjobabort', domain]);

export const domainStateCommand = (libvirtUri: string, domain: string) => shellCommand(['virsh', '-c', libvirtUri, 'domstate', domain]);

// virDomainJobType: 0 none, 1 bounded, 2 unbounded, 3 completed, 4 failed, 5 cancelled.
export function parseJobInfo(output: string, host: string, command: string): JobInfo {
  const type = /^Job type:\s*([0-9]+)\s*$/m.exec(output);
  if (!type) throw badReply(host, command, 'no numeric "Job type:" line');
  const active = type[1] === '1' || type[1] === '2';
  const field = (key: string): number | undefined => {
    const match = new RegExp(`^${key}:\\s*([0-9]+)\\s*$`, 'm').exec(output);
    return match ? Number(match[1]) : undefined;
  };
  const total = field('data_total');
  const remaining = field('data_remaining');
  // Clamped: with totals beyond 2^53 the division can come out a hair above 100, which the
  // status schema (progressPercent ≤ 100) would refuse.
  const percent = total && remaining !== undefined && remaining <= total ? Math.min(100, (100 * (total - remaining)) / total) : undefined;
  return { active, elapsedMs: field('time_elapsed'), percent };
}

export type DomainPresence = 'running' | 'paused' | 'shutoff' | 'other' | 'absent';

/** Parses `virsh domstate`: its state word(s), or "absent" when virsh says the domain does not exist. */
export function parseDomainState(result: { stdout: string; stderr: string; code: number | null }, host: string, command: string): DomainPresence {
  if (result.code !== 0) {
    if (/failed to get domain|Domain not found/i.test(result.stderr)) return 'absent';
    throw badReply(host, command, `exit ${result.code}: ${result.stderr.trim().slice(0, 200) || 'no message'}`);
  }
  const state = result.stdout.trim();
  if (state === 'running') return 'running';
  if (state === 'paused') return 'paused';
  if (state === 'shut off') return 'shutoff';
  if (/^(idle|in shutdown|crashed|pmsuspended|no state|blocked)$/.test(state)) return 'other';
  throw badReply(host, command, `unknown domain state ${JSON.stringify(state.slice(0, 80))}`);
}
