/**
 * An in-memory Kubernetes API server for development (`tide dev`, `tide apiserver`) and tests.
 * It speaks enough of the real API — discovery, OpenAPI v3, CRDs, CRUD, patches, status
 * subresource, watches, validation — that kubectl and @kubernetes/client-node work unchanged.
 *
 * NOT FOR PRODUCTION: state lives in memory only, there is one bearer token and no RBAC,
 * no admission, no garbage collection of owned objects, no server-side apply.
 */
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { initialNamespaces } from './builtins.ts';
import { renderKubeconfig } from './kubeconfig.ts';
import { Operations } from './operations.ts';
import { ResourceRegistry } from './registry.ts';
import { createRouter } from './router.ts';
import { ObjectStore } from './store.ts';
import { makeServerIdentity } from './tls.ts';
import { builtinResources } from './builtins.ts';

export interface ApiServerOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  host?: string;
  /** How many changes watches can resume from; older resourceVersions get 410 Gone. */
  historySize?: number;
  /** Interval of watch bookmarks (when a client allows them). */
  bookmarkIntervalMs?: number;
  /** Longest a watch stays open, as a real server's request timeout. */
  maxWatchSeconds?: number;
  /** Delay of background work such as emptying a deleted namespace (default 300 ms). */
  backgroundDelayMs?: number;
}

export interface ApiServer {
  url: string;
  /** A kubeconfig (YAML) with the server's CA certificate and bearer token. */
  kubeconfig: string;
  writeKubeconfig(path: string): void;
  kubeConfig(): KubeConfig;
  /** Ends every open watch (clients see the stream end and re-watch). */
  closeWatches(): void;
  /** Forgets the change history: watches from any resourceVersion before now get 410 Gone. */
  compactHistory(): void;
  stop(): Promise<void>;
}

export async function startApiServer(options: ApiServerOptions = {}): Promise<ApiServer> {
  const host = options.host ?? '127.0.0.1';
  const identity = await makeServerIdentity(host);
  const store = new ObjectStore(options.historySize ?? 1000);
  const registry = new ResourceRegistry();
  const timers = new Set<NodeJS.Timeout>();
  const later = (work: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      work();
    }, options.backgroundDelayMs ?? 300);
    timers.add(timer);
  };
  const ops = new Operations(store, registry, later);
  const watches = new Set<() => void>();
  const namespaces = builtinResources.find((r) => r.plural === 'namespaces')!;
  for (const name of initialNamespaces) ops.create(namespaces, undefined, { metadata: { name } }, { fieldValidation: 'Strict', dryRun: false, warnings: [] });

  let serverAddress = '';
  const server = createServer(
    { cert: identity.certPem, key: identity.keyPem },
    createRouter({
      token: identity.token,
      serverAddress: () => serverAddress,
      registry,
      store,
      ops,
      watch: { bookmarkIntervalMs: options.bookmarkIntervalMs ?? 10_000, maxWatchSeconds: options.maxWatchSeconds ?? 1800 },
      watches,
    }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  serverAddress = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const url = `https://${serverAddress}`;
  const kubeconfig = renderKubeconfig(url, identity.certPem, identity.token);

  const closeWatches = () => {
    for (const end of [...watches]) end();
  };
  return {
    url,
    kubeconfig,
    writeKubeconfig: (path) => writeFileSync(path, kubeconfig, { mode: 0o600 }),
    kubeConfig: () => {
      const kc = new KubeConfig();
      kc.loadFromString(kubeconfig);
      return kc;
    },
    closeWatches,
    compactHistory: () => store.compact(),
    stop: () =>
      new Promise<void>((resolve) => {
        closeWatches();
        timers.forEach(clearTimeout);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
