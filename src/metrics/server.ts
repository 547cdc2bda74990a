/**
 * The operator's HTTP endpoint for Prometheus and for Kubernetes probes:
 *   GET /metrics  the registry in the Prometheus text format
 *   GET /healthz  200 while the process serves requests (liveness)
 *   GET /readyz   200 when isReady() says so, else 503 (readiness: caches synced, store open …)
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface MetricsServerOptions {
  /** 0 picks a free port. */
  port: number;
  /** Address to listen on; the default serves other pods too (Prometheus scrapes from outside). */
  host?: string;
  registry: Registry;
  /** Readiness as the controller sees it; not ready until it says so. */
  isReady?: () => boolean;
}

export interface MetricsServer {
  port: number;
  stop(): Promise<void>;
}

export async function startMetricsServer({ port, host = '0.0.0.0', registry, isReady = () => false }: MetricsServerOptions): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'method not allowed\n');
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => reply(200, text, registry.contentType),
        (err: Error) => reply(500, `collecting metrics failed: ${err.message}\n`),
      );
      return;
    }
    if (path === '/healthz') return reply(200, 'ok\n');
    if (path === '/readyz') return isReady() ? reply(200, 'ready\n') : reply(503, 'not ready\n');
    reply(404, 'not found: try /metrics, /healthz or /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections(); // scrapers keep connections alive
      }),
  };
}
