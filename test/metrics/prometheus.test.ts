/**
 * A real Prometheus (Debian package) scrapes the operator's metrics server on loopback every
 * second; the test reads what arrived through Prometheus's HTTP API.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMetricsServer } from '../../src/metrics/server.ts';
import { TideMetrics } from '../../src/metrics/tide-metrics.ts';

const PROMETHEUS = '/usr/bin/prometheus';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, log: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last error: ${String(last)})\nprometheus log:\n${log()}`);
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

test('Prometheus scrapes host watts and action counters from the metrics server', { timeout: 90_000 }, async () => {
  assert.ok(existsSync(PROMETHEUS), `${PROMETHEUS} is missing: install the Debian package prometheus (scripts/system-deps/store.txt)`);
  const metrics = new TideMetrics();
  metrics.observeHosts(Date.now(), [
    { name: 'node1', powerState: 'on', watts: 123.5, cpuLoadPercent: 42 },
    { name: 'node2', powerState: 'off', watts: 4 },
  ]);
  for (let i = 0; i < 3; i++) metrics.countAction('migrate', 'succeeded');
  metrics.countAction('power-off', 'failed');
  const server = await startMetricsServer({ port: 0, host: '127.0.0.1', registry: metrics.registry, isReady: () => true });
  const dir = await mkdtemp(join(tmpdir(), 'tide-prometheus-'));
  let prometheus: ChildProcess | undefined;
  let log = '';
  try {
    const promPort = await freePort();
    await writeFile(join(dir, 'prometheus.yml'), [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: tide',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${server.port}']`,
      '',
    ].join('\n'));
    prometheus = spawn(PROMETHEUS, [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--storage.tsdb.retention.time=1h',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    prometheus.stdout!.on('data', (d) => (log += d));
    prometheus.stderr!.on('data', (d) => (log += d));
    const api = `http://127.0.0.1:${promPort}`;
    const query = async (q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
      const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      assert.equal(body.status, 'success');
      return body.data.result;
    };
    const valueOf = async (q: string) => {
      const result = await query(q);
      return result.length === 1 ? Number(result[0].value[1]) : undefined;
    };

    await waitFor('Prometheus to be ready', 45_000, async () => ((await fetch(`${api}/-/ready`)).ok ? true : undefined), () => log);
    assert.equal(await waitFor('node1 watts', 30_000, () => valueOf('tide_host_power_watts{host="node1"}'), () => log), 123.5);
    assert.equal(await valueOf('tide_actions_total{type="Migrate",result="Succeeded"}'), 3);
    assert.equal(await valueOf('tide_actions_total{type="PowerOff",result="Failed"}'), 1);
    assert.equal(await valueOf('tide_hosts{power_state="Off"}'), 1);
    assert.equal(await valueOf('tide_host_cpu_load_ratio{host="node1"}'), 0.42);
    assert.equal(await valueOf('up{job="tide"}'), 1);

    // Scraping goes on: a new reading and another action arrive too.
    metrics.observeHosts(Date.now(), [
      { name: 'node1', powerState: 'on', watts: 180, cpuLoadPercent: 90 },
      { name: 'node2', powerState: 'on', watts: 110, cpuLoadPercent: 3 },
    ]);
    metrics.countAction('power-on', 'succeeded');
    await waitFor('the new watts', 30_000, async () => ((await valueOf('tide_host_power_watts{host="node1"}')) === 180 ? true : undefined), () => log);
    await waitFor('the power-on counter', 30_000, () => valueOf('tide_actions_total{type="PowerOn",result="Succeeded"}'), () => log);
    assert.equal(await valueOf('tide_cluster_power_watts'), 290);

    // Every query of the Grafana dashboard is valid PromQL (Prometheus itself parses it).
    const dashboard = JSON.parse(await readFile(new URL('../../dashboards/grafana-tide.json', import.meta.url), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets) {
        const concrete = expr.replaceAll('$__rate_interval', '1m').replaceAll('$job', '.*').replaceAll('$host', '.*');
        const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(concrete)}`);
        assert.equal(res.status, 200, `${panel.title}: ${expr} → ${await res.text()}`);
      }
    }
  } finally {
    if (prometheus) await stopProcess(prometheus);
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
  assert.equal(prometheus?.exitCode, 0, `Prometheus stopped cleanly on SIGTERM\n${log.slice(-2000)}`);
});
