import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startMetricsServer } from '../../src/metrics/server.ts';
import { TideMetrics } from '../../src/metrics/tide-metrics.ts';

test('serves /metrics, /healthz and a readiness the controller sets', async () => {
  const metrics = new TideMetrics({ processMetrics: false });
  metrics.countAction('power-on', 'succeeded');
  let ready = false;
  const server = await startMetricsServer({ port: 0, host: '127.0.0.1', registry: metrics.registry, isReady: () => ready });
  const url = (path: string) => `http://127.0.0.1:${server.port}${path}`;
  try {
    const res = await fetch(url('/metrics'));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(await res.text(), /^tide_actions_total\{type="PowerOn",result="Succeeded"\} 1$/m);
    assert.equal((await fetch(url('/healthz'))).status, 200);
    assert.equal((await fetch(url('/readyz'))).status, 503);
    ready = true;
    assert.equal((await fetch(url('/readyz'))).status, 200);
    assert.equal((await fetch(url('/nope'))).status, 404);
    assert.equal((await fetch(url('/metrics'), { method: 'POST' })).status, 405);
  } finally {
    await server.stop();
  }
  await assert.rejects(fetch(url('/healthz')), 'stopped means stopped');
});
