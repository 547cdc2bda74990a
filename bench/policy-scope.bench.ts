/**
 * What grouping hosts by policy costs a round (src/controller/policy-groups.ts): every host
 * matched against every policy's hostSelector once, at fleet sizes, with one policy per rack of
 * 100 hosts and a few hosts selected by two policies.
 *
 *   npx tsx bench/policy-scope.bench.ts [--hosts 10000] [--rounds 20]
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import type { ConsolidationPolicy, PhysicalHost } from '../src/api/types.ts';
import { policyScope } from '../src/controller/policy-groups.ts';

const { values } = parseArgs({ options: { hosts: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '20' } } });
const hostCount = Number(values.hosts);
const rounds = Number(values.rounds);

const policy = (name: string, matchLabels: Record<string, string>): ConsolidationPolicy => ({
  apiVersion: 'tide.dev/v1alpha1', kind: 'ConsolidationPolicy', metadata: { name, creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { hostSelector: { matchLabels } } as ConsolidationPolicy['spec'],
});

const rows: string[] = [];
for (const policyCount of [1, 10, 100, 1000]) {
  // One policy per rack, the racks splitting the hosts evenly; every 1,000th host is also in row
  // "shared", which one more policy selects: hosts selected twice, left alone.
  const rackOf = (i: number) => `r${Math.floor((i * policyCount) / hostCount)}`;
  const hosts: PhysicalHost[] = Array.from({ length: hostCount }, (_, i) => ({
    apiVersion: 'tide.dev/v1alpha1', kind: 'PhysicalHost',
    metadata: { name: `h${i}`, labels: { 'tide.dev/rack': rackOf(i), 'kubernetes.io/os': 'linux', zone: `z${i % 3}`, ...(i % 1000 === 0 ? { row: 'shared' } : {}) } },
    spec: { address: `h${i}`, capacity: { cpuCores: 64, memoryMiB: 262144 }, standbyAllowed: true, maintenance: false },
  }));
  const policies = Array.from({ length: policyCount }, (_, r) => policy(`rack-${r}`, { 'tide.dev/rack': `r${r}` }));
  policies.push(policy('shared-row', { row: 'shared' }));
  const times: number[] = [];
  let scope = policyScope(policies, hosts, false);
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    scope = policyScope(policies, hosts, false);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const governed = scope.groups.reduce((n, g) => n + g.hosts.length, 0);
  rows.push(`| ${hostCount} | ${policies.length} | ${governed} | ${scope.overlaps.size} | ${times[Math.floor(times.length / 2)]!.toFixed(1)} | ${times.at(-1)!.toFixed(1)} |`);
}
console.log('| hosts | policies | hosts governed | hosts shared (left alone) | ms p50 | ms max |');
console.log('|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
