/**
 * The chart's optional PrometheusRule: off by default; when on, it holds exactly the alerts
 * docs/metrics.md suggests, on metrics and label values the operator exports, and promtool
 * (Prometheus's own checker) accepts its rules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { TideMetrics } from '../../src/metrics/tide-metrics.ts';
import { byKind, chartSkip, find, renderChart, ROOT } from './render.ts';

const run = promisify(execFile);

interface Rule { alert: string; expr: string; for?: string; labels: Record<string, string>; annotations: Record<string, string> }

async function exportedMetrics(): Promise<{ names: Set<string>; labelValues: Set<string> }> {
  const m = new TideMetrics({ processMetrics: false });
  m.watchStore({ stats: () => ({ bufferedSamples: 0, droppedSamples: 0 }) });
  m.startReconcile()('success');
  m.countAction('power-on', 'failed');
  const all = await m.registry.getMetricsAsJSON();
  const labelValues = all.flatMap((x) => (x.values as { labels: Record<string, string | number> }[]).flatMap((v) => Object.values(v.labels).map(String)));
  return { names: new Set(all.map((x) => x.name)), labelValues: new Set(labelValues) };
}

test('PrometheusRule: none by default; when enabled, the alerts of docs/metrics.md on exported metrics, accepted by promtool', { skip: chartSkip }, async () => {
  assert.deepEqual(byKind(await renderChart(), 'PrometheusRule'), []);
  const objects = await renderChart({ prometheusRule: { enabled: true, staleAfterSeconds: 2400, labels: { release: 'kube-prometheus-stack' } } });
  const rule = find(objects, 'PrometheusRule', 'tide');
  assert.equal(rule.metadata.labels?.release, 'kube-prometheus-stack');
  assert.equal(rule.metadata.namespace, 'tide-system');
  const groups = (rule.spec as { groups: { name: string; rules: Rule[] }[] }).groups;
  const rules = groups.flatMap((g) => g.rules);

  // The same alerts, in the same order, as the table in docs/metrics.md.
  const docs = readFileSync(join(ROOT, 'docs/metrics.md'), 'utf8');
  const documented = [...docs.matchAll(/^\| `(Tide[A-Za-z]+)` \| `([^`]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual(rules.map((r) => r.alert), documented);
  assert.match(rules.find((r) => r.alert === 'TideReconcileStale')!.expr, /> 2400$/, 'staleAfterSeconds is used');

  const { names, labelValues } = await exportedMetrics();
  for (const r of rules) {
    for (const name of r.expr.match(/tide_[a-z_]+/g) ?? []) assert.ok(names.has(name), `${r.alert}: ${name} is not exported`);
    for (const [, label, value] of r.expr.matchAll(/(type|result|power_state)="([^"]+)"/g)) assert.ok(labelValues.has(value!), `${r.alert}: ${label}="${value}" is never exported`);
    assert.match(r.expr, /namespace="tide-system"/, `${r.alert} looks at this release's namespace only`);
    assert.ok(r.labels.severity && r.annotations.summary && r.annotations.description, r.alert);
  }

  // promtool parses every expression and template (a rule file is the spec's groups).
  if (!existsSync('/usr/bin/promtool')) return;
  const dir = mkdtempSync(join(tmpdir(), 'tide-rules-'));
  try {
    const file = join(dir, 'rules.yaml');
    writeFileSync(file, stringify({ groups }));
    const { stdout } = await run('/usr/bin/promtool', ['check', 'rules', file]);
    assert.match(stdout, /SUCCESS: 4 rules found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
