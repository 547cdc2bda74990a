/**
 * One sample of a host's cumulative counters, taken by a single remote command: the host's
 * clock, the aggregate `cpu` line of /proc/stat, /proc/meminfo, and `virsh domstats --raw`.
 * Two samples a known interval apart give CPU utilisation (cpu-load.ts).
 */
import type { DomainState } from '../api/drivers.ts';
import { badReply } from './errors.ts';
import { quoteShellArg } from './shell-quote.ts';

export interface DomainSample {
  name: string;
  state: DomainState;
  vcpus: number;
  memoryKiB: number;
  /** Cumulative CPU time in ns (domstats cpu.time); absent for domains that are not running. */
  cpuTimeNs?: bigint;
}

export interface HostSample {
  /** The host's clock when the sample was taken, ns since the epoch. */
  atNs: bigint;
  /** Jiffies summed over the aggregate /proc/stat cpu line, and those spent idle or in iowait. */
  cpuTotalJiffies: bigint;
  cpuIdleJiffies: bigint;
  memTotalKiB: number;
  memAvailableKiB: number;
  domains: DomainSample[];
}

const MARK = '@@tide-sample';

/** The shell script that prints one sample; `script` of two samples an interval apart. */
function sampleScript(libvirtUri: string): string {
  return [
    `echo ${MARK} "$(date +%s%N)"`,
    'head -n 1 /proc/stat',
    "grep -E '^(MemTotal|MemAvailable):' /proc/meminfo",
    `virsh -c ${quoteShellArg(libvirtUri)} domstats --raw --state --cpu-total --balloon --vcpu`,
  ].join(' && ');
}

/** A command printing two samples `intervalMs` apart (measured on the host, not across the network). */
export function twoSamplesCommand(libvirtUri: string, intervalMs: number): string {
  const seconds = (Math.max(0, Math.round(intervalMs)) / 1000).toFixed(3);
  const script = `${sampleScript(libvirtUri)} && sleep ${seconds} && ${sampleScript(libvirtUri)}`;
  return `sh -c ${quoteShellArg(script)}`;
}

/** libvirt's virDomainState numbers (state.state) as Tide's states. */
function domainState(state: number, reason: number): DomainState {
  if (state === 1 || state === 2) return 'running';
  // VIR_DOMAIN_PAUSED_MIGRATION: paused by an outgoing or incoming migration.
  if (state === 3) return reason === 2 ? 'migrating' : 'paused';
  if (state === 5) return 'shutoff';
  return 'other';
}

/** Parses the output of twoSamplesCommand into its samples; throws a BadReply error naming host and command. */
export function parseSamples(output: string, host: string, command: string): HostSample[] {
  const blocks = output.split(`${MARK} `).slice(1);
  if (blocks.length === 0) throw badReply(host, command, `no "${MARK}" marker in the reply`);
  return blocks.map((block, index) => parseSample(block, (detail) => badReply(host, command, `sample ${index + 1}: ${detail}`)));
}

function parseSample(block: string, fail: (detail: string) => Error): HostSample {
  const lines = block.split('\n');
  const atText = lines[0].trim();
  if (!/^[0-9]{10,}$/.test(atText)) throw fail(`host clock ${JSON.stringify(atText)} is not a number of nanoseconds`);
  const cpuLine = lines[1]?.trim() ?? '';
  const cpuFields = cpuLine.split(/\s+/);
  if (cpuFields[0] !== 'cpu' || cpuFields.length < 5 || !cpuFields.slice(1).every((f) => /^[0-9]+$/.test(f))) {
    throw fail(`expected the /proc/stat "cpu" line, got ${JSON.stringify(cpuLine.slice(0, 80))}`);
  }
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  const jiffies = cpuFields.slice(1, 9).map((f) => BigInt(f));
  const cpuTotalJiffies = jiffies.reduce((a, b) => a + b, 0n);
  const cpuIdleJiffies = jiffies[3] + (jiffies[4] ?? 0n);
  const memTotalKiB = meminfo(lines[2], 'MemTotal', fail);
  const memAvailableKiB = meminfo(lines[3], 'MemAvailable', fail);
  return { atNs: BigInt(atText), cpuTotalJiffies, cpuIdleJiffies, memTotalKiB, memAvailableKiB, domains: parseDomstats(lines.slice(4), fail) };
}

function meminfo(line: string | undefined, key: string, fail: (detail: string) => Error): number {
  const match = new RegExp(`^${key}:\\s+([0-9]+) kB$`).exec(line?.trim() ?? '');
  if (!match) throw fail(`expected "${key}: … kB" from /proc/meminfo, got ${JSON.stringify((line ?? '').slice(0, 80))}`);
  return Number(match[1]);
}

/** Parses `virsh domstats --raw` blocks: "Domain: 'name'" then indented key=value lines. */
export function parseDomstats(lines: string[], fail: (detail: string) => Error): DomainSample[] {
  const domains: DomainSample[] = [];
  let current: Map<string, string> | undefined;
  let currentName = '';
  const flush = () => {
    if (current) domains.push(domainSample(currentName, current, fail));
    current = undefined;
  };
  for (const raw of lines) {
    const line = raw.trimEnd();
    if (line === '') continue;
    const header = /^Domain: '(.*)'$/.exec(line);
    if (header) {
      flush();
      currentName = header[1];
      current = new Map();
      continue;
    }
    const field = /^\s+([A-Za-z0-9_.]+)=(.*)$/.exec(line);
    if (!field || !current) throw fail(`unexpected domstats line ${JSON.stringify(line.slice(0, 80))}`);
    current.set(field[1], field[2]);
  }
  flush();
  return domains;
}

function domainSample(name: string, fields: Map<string, string>, fail: (detail: string) => Error): DomainSample {
  const integer = (key: string, required: boolean): bigint | undefined => {
    const text = fields.get(key);
    if (text === undefined) {
      if (required) throw fail(`domain ${name}: domstats has no ${key}`);
      return undefined;
    }
    if (!/^[0-9]+$/.test(text)) throw fail(`domain ${name}: ${key}=${JSON.stringify(text)} is not a whole number`);
    return BigInt(text);
  };
  const state = domainState(Number(integer('state.state', true)), Number(integer('state.reason', false) ?? 0n));
  const vcpus = Number(integer('vcpu.current', false) ?? integer('vcpu.maximum', true));
  const memoryKiB = Number(integer('balloon.current', false) ?? integer('balloon.maximum', true));
  return { name, state, vcpus, memoryKiB, cpuTimeNs: integer('cpu.time', false) };
}
