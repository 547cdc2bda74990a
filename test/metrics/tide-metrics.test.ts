import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Registry } from 'prom-client';
import { TideMetrics } from '../../src/metrics/tide-metrics.ts';

async function value(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return undefined;
  const { values } = await metric.get();
  const match = values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l) && (!('le' in v.labels) || v.labels.le === '+Inf'));
  return match?.value;
}

const HOUR = 3_600_000;

test('host gauges follow the latest observation; energy used and saved accumulate between rounds', async () => {
  const m = new TideMetrics({ processMetrics: false });
  const t0 = 1_000_000;
  m.observeHosts(t0, [
    { name: 'a', powerState: 'on', watts: 200, cpuLoadPercent: 60, vms: 3 },
    { name: 'b', powerState: 'on', watts: 110, cpuLoadPercent: 5, vms: 0 },
  ]);
  // b is powered off for two hours drawing 5 W: saved (110 − 5) W × 2 h, with b's idle learned as 110 W.
  m.observeHosts(t0 + HOUR, [
    { name: 'a', powerState: 'on', watts: 230, cpuLoadPercent: 80, vms: 3 },
    { name: 'b', powerState: 'off', watts: 5 },
  ]);
  m.observeHosts(t0 + 3 * HOUR, [
    { name: 'a', powerState: 'on', watts: 230, cpuLoadPercent: 80, vms: 3 },
    { name: 'b', powerState: 'off', watts: 5 },
  ]);
  const r = m.registry;
  assert.equal(await value(r, 'tide_host_power_watts', { host: 'a' }), 230);
  assert.equal(await value(r, 'tide_host_cpu_load_ratio', { host: 'a' }), 0.8);
  assert.equal(await value(r, 'tide_host_cpu_load_ratio', { host: 'b' }), undefined, 'no load reading, no series');
  assert.equal(await value(r, 'tide_cluster_power_watts'), 235);
  // Power states in the words of PhysicalHost status.powerState; energy in joules (W·h × 3600).
  assert.equal(await value(r, 'tide_hosts', { power_state: 'On' }), 1);
  assert.equal(await value(r, 'tide_hosts', { power_state: 'Off' }), 1);
  assert.equal(await value(r, 'tide_hosts', { power_state: 'PoweringOn' }), 0);
  assert.equal(await value(r, 'tide_energy_consumed_joules_total'), (200 + 110 + 2 * 230 + 2 * 5) * 3600);
  assert.equal(await value(r, 'tide_energy_saved_joules_total'), 2 * (110 - 5) * 3600);

  // A host that is no longer managed stops being exported.
  m.observeHosts(t0 + 4 * HOUR, [{ name: 'a', powerState: 'on', watts: 230, cpuLoadPercent: 80 }]);
  assert.equal(await value(r, 'tide_host_power_watts', { host: 'b' }), undefined);
  assert.equal(await value(r, 'tide_hosts', { power_state: 'Off' }), 0);
});

test('a configured idle power is used for the saving', async () => {
  const m = new TideMetrics({ processMetrics: false });
  m.observeHosts(0, [{ name: 'c', powerState: 'off', watts: 0, idleWatts: 90 }]);
  m.observeHosts(HOUR / 2, [{ name: 'c', powerState: 'off', watts: 0, idleWatts: 90 }]);
  assert.equal(await value(m.registry, 'tide_energy_saved_joules_total'), 45 * 3600);
});

test('actions, reconciles, migrations and the store are counted', async () => {
  const m = new TideMetrics({ processMetrics: false, version: '0.1.0' });
  m.countAction('migrate', 'succeeded');
  m.countAction('migrate', 'succeeded');
  m.countAction('power-off', 'failed');
  m.countPlannedAction('migrate', 'Balance');
  m.startReconcile()('success');
  const done = m.startMigration();
  assert.equal(await value(m.registry, 'tide_migrations_in_progress'), 1);
  done('succeeded');
  m.setLeader(true);
  let stats = { bufferedSamples: 7, droppedSamples: 3 };
  m.watchStore({ stats: () => stats });
  const r = m.registry;
  assert.equal(await value(r, 'tide_actions_total', { type: 'Migrate', result: 'Succeeded' }), 2);
  assert.equal(await value(r, 'tide_actions_total', { type: 'PowerOff', result: 'Failed' }), 1);
  assert.equal(await value(r, 'tide_planned_actions_total', { type: 'Migrate', reason: 'Balance' }), 1);
  assert.equal(await value(r, 'tide_migrations_in_progress'), 0);
  assert.equal(await value(r, 'tide_leader'), 1);
  assert.equal(await value(r, 'tide_build_info', { version: '0.1.0' }), 1);
  assert.ok((await value(r, 'tide_last_reconcile_timestamp_seconds'))! > 1.7e9);
  assert.equal(await value(r, 'tide_store_dropped_samples_total'), 3);
  stats = { bufferedSamples: 0, droppedSamples: 5 };
  assert.equal(await value(r, 'tide_store_dropped_samples_total'), 5);
  assert.equal(await value(r, 'tide_store_buffered_samples'), 0);
  const text = await r.metrics();
  assert.match(text, /^tide_reconcile_duration_seconds_count\{result="success"\} 1$/m);
  assert.match(text, /^tide_migration_duration_seconds_count\{result="Succeeded"\} 1$/m);
});

test('a replica that has run no round (a standby) exports no last-reconcile time, rather than 0', async () => {
  const m = new TideMetrics({ processMetrics: false });
  assert.doesNotMatch(await m.registry.metrics(), /tide_last_reconcile_timestamp_seconds/);
  m.startReconcile()('error');
  const first = await value(m.registry, 'tide_last_reconcile_timestamp_seconds');
  assert.ok(Math.abs(first! - Date.now() / 1000) < 60, `set at the end of the round: ${first}`);
  m.startReconcile()('success');
  assert.equal((await m.registry.metrics()).match(/^tide_last_reconcile_timestamp_seconds /gm)?.length, 1, 'registered once');
});

test('every metric follows the naming conventions and is documented', async () => {
  const m = new TideMetrics({ processMetrics: false });
  m.watchStore({ stats: () => ({ bufferedSamples: 0, droppedSamples: 0 }) });
  m.startReconcile()('success'); // registers the last-reconcile time
  const { readFile } = await import('node:fs/promises');
  const docs = await readFile(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
  for (const metric of await m.registry.getMetricsAsJSON()) {
    assert.match(metric.name, /^tide_[a-z_]+$/);
    if (String(metric.type) === 'counter') assert.match(metric.name, /_total$/, `${metric.name} is a counter`);
    else assert.doesNotMatch(metric.name, /_total$/, `${metric.name} is not a counter`);
    assert.ok(docs.includes(`\`${metric.name}\``), `docs/metrics.md lists ${metric.name}`);
  }
});

test('the process metrics are on the operator registry, not the global one', async () => {
  const { register } = await import('prom-client');
  const m = new TideMetrics();
  assert.ok(m.registry.getSingleMetric('process_cpu_seconds_total'));
  assert.equal(register.getSingleMetric('tide_actions_total'), undefined);
});

test('the Grafana dashboard is valid JSON, picks its Prometheus data source, and queries only our metrics', async () => {
  const { readFile } = await import('node:fs/promises');
  const dashboard = JSON.parse(await readFile(new URL('../../dashboards/grafana-tide.json', import.meta.url), 'utf8')) as {
    templating: { list: { type: string; name: string; query: unknown }[] };
    panels: { title: string; datasource: { uid: string }; targets: { expr: string }[] }[];
  };
  assert.ok(dashboard.templating.list.some((v) => v.type === 'datasource' && v.name === 'datasource' && v.query === 'prometheus'));
  const m = new TideMetrics({ processMetrics: false });
  m.watchStore({ stats: () => ({ bufferedSamples: 0, droppedSamples: 0 }) });
  m.countAction('migrate', 'succeeded');
  m.startMigration()('succeeded');
  m.startReconcile()('error');
  const exported = await m.registry.getMetricsAsJSON();
  const known = new Set(exported.map((x) => x.name));
  // Label values the dashboard filters on must be ones exported (the CRD's words, e.g. On, Migrate, Succeeded).
  const labelValues = new Set(exported.flatMap((x) => (x.values as { labels: Record<string, string | number> }[]).flatMap((v) => Object.values(v.labels).map(String))));
  assert.ok(dashboard.panels.length >= 10);
  for (const panel of dashboard.panels) {
    assert.equal(panel.datasource.uid, '${datasource}', panel.title);
    for (const { expr } of panel.targets) {
      const names = expr.match(/tide_[a-z_]+/g) ?? [];
      assert.ok(names.length > 0, `${panel.title}: ${expr}`);
      for (const name of names) assert.ok(known.has(name.replace(/_(bucket|count|sum)$/, '')), `${panel.title}: unknown metric ${name}`);
      for (const [, label, v] of expr.matchAll(/(power_state|type|result)="([^"]+)"/g)) assert.ok(labelValues.has(v!), `${panel.title}: ${label}="${v}" is never exported`);
    }
  }
});
