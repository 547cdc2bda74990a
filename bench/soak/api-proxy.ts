/**
 * A fault-injecting proxy in front of the embedded API server (plain HTTP on loopback towards
 * the operator, kept-alive HTTPS towards the server: TLS handshakes would dominate the soak). Each operator process gets
 * its own, so killing the process is closing its proxy: every connection it had ends and new
 * ones are refused, as when a pod dies. Faults shared by all proxies (ApiFaults) answer
 * requests with 409 or 500, delay them, or cut watches. The proxies also count requests in
 * flight, which is how the soak knows the operator is waiting for simulated time again.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import type { ApiServer } from '../../src/kube/apiserver/index.ts';
import type { Rng } from './rng.ts';

export interface ApiFaults {
  rng: Rng;
  /** Share of writes (PUT, PATCH, POST) answered 409 Conflict. */
  conflict: number;
  /** Share of requests answered 500. */
  serverError: number;
  /** Longest extra delay of a response, wall ms (0: none). */
  slowMs: number;
  /** Requests answered with a fault so far, by status. */
  injected: { conflict: number; serverError: number; slow: number };
}

export function noApiFaults(rng: Rng): ApiFaults {
  return { rng, conflict: 0, serverError: 0, slowMs: 0, injected: { conflict: 0, serverError: 0, slow: 0 } };
}

export interface FaultProxy {
  kubeConfig(): KubeConfig;
  /** Requests not answered yet (watches and Lease requests left out). */
  inFlight(): number;
  /** Ends every watch passing through. */
  cutWatches(): void;
  /** The process behind it died: every connection ends, none is accepted again. */
  kill(): void;
  stop(): Promise<void>;
}

const isWatch = (path: string) => /[?&]watch=(true|1)/.test(path);

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
}

export async function startFaultProxy(api: ApiServer, faults: ApiFaults): Promise<FaultProxy> {
  const direct = api.kubeConfig();
  const ca = Buffer.from(direct.getCurrentCluster()!.caData!, 'base64');
  const token = direct.getCurrentUser()!.token!;
  const upstream = new URL(api.url);
  const agent = new Agent({ keepAlive: true, ca });
  let inFlight = 0;
  let dead = false;
  const watches = new Set<ServerResponse>();
  const sockets = new Set<Socket>();

  const forward = (req: IncomingMessage, res: ServerResponse, watch: boolean) => {
    const up = httpsRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host }, agent },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        if (watch) res.flushHeaders();
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    req.pipe(up);
  };

  const server: Server = createServer((req, res) => {
    if (dead) return res.destroy();
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    if (isWatch(path)) {
      watches.add(res);
      res.on('close', () => watches.delete(res));
      return forward(req, res, true);
    }
    // Lease traffic runs on the wall clock all the time and changes nothing in the fleet: a
    // step does not wait for it.
    const counted = !path.includes('/leases/');
    if (counted) {
      inFlight++;
      res.on('close', () => inFlight--);
    }
    const write = method === 'PUT' || method === 'PATCH' || method === 'POST';
    if (write && faults.conflict > 0 && faults.rng.chance(faults.conflict)) {
      faults.injected.conflict++;
      return status(res, 409, 'Conflict', 'the object has been modified; please apply your changes to the latest version and try again (injected by the soak)');
    }
    if (faults.serverError > 0 && faults.rng.chance(faults.serverError)) {
      faults.injected.serverError++;
      return status(res, 500, 'InternalError', 'an error on the server ("injected by the soak") has prevented the request from succeeding');
    }
    if (faults.slowMs > 0) {
      faults.injected.slow++;
      const delay = faults.rng.int(faults.slowMs / 4, faults.slowMs);
      setTimeout(() => (dead ? res.destroy() : forward(req, res, false)), delay);
      return;
    }
    forward(req, res, false);
  });
  server.on('connection', (socket: Socket) => {
    if (dead) return socket.destroy();
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kill = () => {
    dead = true;
    for (const socket of sockets) socket.destroy();
  };
  return {
    kubeConfig: () => {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'soak', server: url, skipTLSVerify: true }],
        users: [{ name: 'soak', token }],
        contexts: [{ name: 'soak', cluster: 'soak', user: 'soak' }],
        currentContext: 'soak',
      });
      return kc;
    },
    inFlight: () => inFlight,
    cutWatches: () => {
      for (const res of [...watches]) res.destroy();
    },
    kill,
    stop: () =>
      new Promise<void>((resolve) => {
        kill();
        server.close(() => resolve());
        agent.destroy();
      }),
  };
}
