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
import type { AddressInfo, Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { builtinResources, initialNamespaces } from './builtins.ts';
import type { KubeObject } from './types.ts';
import type { Authorizer, ResourceRequest } from './access.ts';
import { renderKubeconfig } from './kubeconfig.ts';
import { Operations } from './operations.ts';
import { ResourceRegistry } from './registry.ts';
import { createRouter } from './router.ts';
import { ObjectStore } from './store.ts';
import { makeServerIdentity } from './tls.ts';

export type { Authorizer, ResourceRequest } from './access.ts';

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
  /** Events older than this are deleted, as on a real cluster (default 1 h). */
  eventTtlMs?: number;
  /** Delay of background work such as emptying a deleted namespace (default 300 ms). */
  backgroundDelayMs?: number;
  /**
   * Objects to create at start, in order (CRDs before their resources), e.g. the parsed
   * manifests/crds/*.yaml. Handy in tests: client-node's typed CRD API would drop `default` and
   * `x-kubernetes-validations` from a plain object (its model names them `_default`, `xKubernetesValidations`).
   */
  objects?: KubeObject[];
  /**
   * Decides each resource request as RBAC would (403 Forbidden when it returns false), e.g.
   * `(r) => allows(OPERATOR_RULES, r)`. Default: everything is allowed.
   */
  authorize?: Authorizer;
}

/** Creates one object given at start; a bad one fails the start with the server's own message. */
function preload(registry: ResourceRegistry, ops: Operations, obj: KubeObject): void {
  const [group, version] = obj.apiVersion?.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const resource = registry.all().find((r) => r.group === group && r.version === version && r.kind === obj.kind);
  const what = `${obj.kind ?? '?'} ${obj.metadata?.name ?? '?'}`;
  if (!resource) throw new Error(`startApiServer: no resource serves ${obj.apiVersion}, kind ${obj.kind} (${what}); list its CRD first`);
  try {
    ops.create(resource, resource.namespaced ? obj.metadata?.namespace ?? 'default' : undefined, obj, { fieldValidation: 'Strict', dryRun: false, warnings: [] });
  } catch (err) {
    throw new Error(`startApiServer: cannot create ${what}: ${(err as Error).message}`);
  }
}

export interface ApiServer {
  url: string;
  /** A kubeconfig (YAML) with the server's CA certificate and bearer token. */
  kubeconfig: string;
  writeKubeconfig(path: string): void;
  kubeConfig(): KubeConfig;
  /** Every resource request so far (verb, group, resource[/subresource], namespace, name), oldest first; the last 10 000 are kept. */
  requests: ResourceRequest[];
  /** How many watches are open now (tests wait for a client to be watching before they act). */
  openWatches(): number;
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
  const requests: ResourceRequest[] = [];
  const namespaces = builtinResources.find((r) => r.plural === 'namespaces')!;
  for (const name of initialNamespaces) ops.create(namespaces, undefined, { metadata: { name } }, { fieldValidation: 'Strict', dryRun: false, warnings: [] });
  for (const obj of options.objects ?? []) preload(registry, ops, obj);

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
      requests,
      authorize: options.authorize,
    }),
  );
  // Every TCP socket, including those still in the TLS handshake that closeAllConnections()
  // does not know of yet: stop() destroys them all, so it never waits on a reconnecting client.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const eventTtlMs = options.eventTtlMs ?? 3_600_000;
  const eventSweep = setInterval(() => ops.expireEvents(new Date(Date.now() - eventTtlMs)), Math.min(60_000, eventTtlMs));
  eventSweep.unref();
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
    requests,
    openWatches: () => watches.size,
    closeWatches,
    compactHistory: () => store.compact(),
    stop: () =>
      new Promise<void>((resolve) => {
        closeWatches();
        timers.forEach(clearTimeout);
        clearInterval(eventSweep);
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
