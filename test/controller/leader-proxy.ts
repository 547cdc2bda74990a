/**
 * An HTTPS proxy in front of the embedded API server that can stall chosen requests: it
 * accepts them and never answers, as a half-dead connection or an overloaded API server does.
 * A replica given the proxy's kubeconfig talks to the API over real TLS and TCP, so a hung
 * request is hung exactly where client-node would hang in production. Loopback only.
 */
import { request as httpsRequest, createServer, type Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import type { ApiServer } from '../../src/kube/apiserver/index.ts';
import { renderKubeconfig } from '../../src/kube/apiserver/kubeconfig.ts';
import { makeServerIdentity } from '../../src/kube/apiserver/tls.ts';

export interface StalledRequest {
  method: string;
  path: string;
  stalledAtMs: number;
  /** When the client gave up on it (closed the connection); undefined while it still waits. */
  abandonedAtMs?: number;
}

export interface StallingProxy {
  /** A kubeconfig (YAML) that points at the proxy, for a `tide run` process. */
  kubeconfig: string;
  kubeConfig(): KubeConfig;
  /** From now on, requests for which `when` holds are held unanswered. */
  stall(when: (method: string, path: string) => boolean): void;
  /** New requests pass again; those already held stay unanswered until their client gives up. */
  resume(): void;
  stalled: StalledRequest[];
  stop(): Promise<void>;
}

export const isLeaseRequest = (_method: string, path: string) => path.includes('/leases');

export async function startStallingProxy(api: ApiServer): Promise<StallingProxy> {
  const identity = await makeServerIdentity('127.0.0.1');
  const direct = api.kubeConfig();
  const ca = Buffer.from(direct.getCurrentCluster()!.caData!, 'base64');
  const token = direct.getCurrentUser()!.token!;
  const upstream = new URL(api.url);
  let when: ((method: string, path: string) => boolean) | undefined;
  const stalled: StalledRequest[] = [];

  const forward = (req: IncomingMessage, res: import('node:http').ServerResponse) => {
    const up = httpsRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host }, ca },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        res.flushHeaders(); // watches: the client waits for the headers before the first event
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    req.pipe(up);
  };

  const server: Server = createServer({ cert: identity.certPem, key: identity.keyPem }, (req, res) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    if (!when?.(method, path)) return forward(req, res);
    const held: StalledRequest = { method, path, stalledAtMs: Date.now() };
    stalled.push(held);
    res.on('close', () => (held.abandonedAtMs = Date.now()));
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kubeconfig = renderKubeconfig(url, identity.certPem, token);
  return {
    kubeconfig,
    kubeConfig: () => {
      const kc = new KubeConfig();
      kc.loadFromString(kubeconfig);
      return kc;
    },
    stall: (predicate) => (when = predicate),
    resume: () => (when = undefined),
    stalled,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
