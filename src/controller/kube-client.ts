/**
 * The operator's Kubernetes client, tuned as client-go tunes its own:
 *
 *  - a token bucket on every request (list, get, update, create, and each watch it opens), so a
 *    fleet-sized round cannot flood the API server: `qps` tokens a second, at most `burst` saved
 *    up. client-go's rest.Config defaults are 5/10, which controller-runtime raises to 20/30 and
 *    kubectl to 50/300; Tide defaults to 50/100 (DEFAULT_KUBE_QPS, DEFAULT_KUBE_BURST), the
 *    steady state needs far less (docs/operator.md, "At fleet scale");
 *  - one keep-alive HTTPS agent keeping up to 32 idle connections for all requests but watches:
 *    client-node 1.4 makes a new agent, hence a new TCP connection and TLS handshake, for every
 *    request — at 300 hosts, the first round's 7,000 requests spent most of the operator's CPU
 *    in TLS setup (bench/operator.bench.ts under --cpu-prof).
 *
 * KubeConfig is subclassed, not patched: the two methods every client-node request goes through
 * (applySecurityAuthentication for the API clients, applyToFetchOptions for watches) take a
 * token first; createAgent hands out the shared agent.
 */
import { Agent as HttpsAgent } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

/**
 * Idle connections kept for the next requests (HTTP/1.1: one request at a time each), so that a
 * round's thousands of requests reuse a few connections instead of a TLS handshake each.
 *
 * Kept idle, not a cap on open connections: a request must never wait in the agent's queue for a
 * busy connection. node-fetch 2 (client-node 1.4's) then takes the queued request's listener on
 * that connection for a broken chunked ending and fails a good response with "Premature close"
 * (node-fetch#1767) — against a real kube-apiserver, whose responses are chunked, most status
 * writes of a 2,000-host round failed so. The token bucket bounds how many requests go at once.
 */
const MAX_FREE_SOCKETS = 32;

export const DEFAULT_KUBE_QPS = 50;
export const DEFAULT_KUBE_BURST = 100;

export interface KubeClientOptions {
  /** Sustained requests per second (default 50). */
  qps?: number;
  /** Requests that may go at once after a quiet spell (default 100). */
  burst?: number;
  /** Told of every request as it leaves (after its token): method and URL; watches as 'WATCH'. */
  onRequest?: (method: string, url: string) => void;
  /** Time source for the bucket (tests). */
  now?: () => number;
}

/**
 * A token bucket: take() resolves when a token is free, in the order asked. Pure but for the
 * timer it waits on.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly qps: number,
    readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(qps > 0) || !Number.isFinite(qps)) throw new Error(`kube client: qps must be a positive number, got ${qps}`);
    if (!Number.isInteger(burst) || burst < 1) throw new Error(`kube client: burst must be an integer ≥ 1, got ${burst}`);
    this.tokens = burst;
    this.last = this.now();
  }

  /** Milliseconds until a token is free (0: now), taking it if free. */
  private tryTake(): number {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.qps) / 1000);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return ((1 - this.tokens) * 1000) / this.qps;
  }

  take(): Promise<void> {
    // Chained, so waiters are served first come, first served.
    const turn = this.queue.then(async () => {
      for (let wait = this.tryTake(); wait > 0; wait = this.tryTake()) await new Promise((r) => setTimeout(r, Math.ceil(wait)));
    });
    this.queue = turn;
    return turn;
  }
}

type Context = Parameters<KubeConfig['applySecurityAuthentication']>[0];

export class TunedKubeConfig extends KubeConfig {
  readonly bucket: TokenBucket;
  private readonly agents = new Map<string, HttpsAgent>();

  constructor(private readonly options: KubeClientOptions = {}) {
    super();
    this.bucket = new TokenBucket(options.qps ?? DEFAULT_KUBE_QPS, options.burst ?? DEFAULT_KUBE_BURST, options.now);
  }

  override async applySecurityAuthentication(context: Context): Promise<void> {
    await this.bucket.take();
    this.options.onRequest?.(context.getHttpMethod(), context.getUrl());
    await super.applySecurityAuthentication(context);
    const agent = this.shared(context.getAgent());
    if (agent) context.setAgent(agent);
  }

  override async applyToFetchOptions(opts: Parameters<KubeConfig['applyToFetchOptions']>[0]): ReturnType<KubeConfig['applyToFetchOptions']> {
    // In the operator only watches open this way (informers' watches; lists go through the API clients).
    await this.bucket.take();
    this.options.onRequest?.('WATCH', '');
    // A watch holds its connection for minutes: it keeps the agent of its own, and never takes
    // one of the shared agent's few sockets from the requests.
    return super.applyToFetchOptions(opts);
  }

  /**
   * The keep-alive agent standing in for `fresh`, the one-use agent client-node just made (same
   * TLS settings for every request of this config; proxies and plain HTTP are left alone).
   */
  private shared(fresh: unknown): HttpsAgent | undefined {
    if (!(fresh instanceof HttpsAgent) || fresh.constructor !== HttpsAgent) return undefined;
    const tls = fresh.options;
    const key = `${tls.servername ?? ''}|${tls.rejectUnauthorized ?? ''}`;
    let agent = this.agents.get(key);
    if (!agent) {
      agent = new HttpsAgent({ ...tls, keepAlive: true, keepAliveMsecs: 30_000, maxSockets: Infinity, maxFreeSockets: MAX_FREE_SOCKETS });
      this.agents.set(key, agent);
    }
    return agent;
  }

  /** Closes the idle pooled connections (the open watches end on their own). */
  destroy(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}

/** `kubeConfig` (as loaded from a file, in-cluster, or a test server) with the tuning above. */
export function tunedKubeConfig(kubeConfig: KubeConfig, options: KubeClientOptions = {}): TunedKubeConfig {
  const tuned = new TunedKubeConfig(options);
  tuned.loadFromOptions({ clusters: kubeConfig.clusters, users: kubeConfig.users, contexts: kubeConfig.contexts, currentContext: kubeConfig.currentContext });
  return tuned;
}

export type KubeVerb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

/**
 * The Kubernetes verb of a request, from its method and path as the API server decides it:
 * GET of a collection is list, of one object get; `?watch=` makes either a watch.
 */
export function kubeVerb(method: string, url: string): KubeVerb {
  switch (method.toUpperCase()) {
    case 'WATCH':
      return 'watch';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
  }
  const parsed = new URL(url, 'https://x');
  if (/^(1|true)$/.test(parsed.searchParams.get('watch') ?? '')) return 'watch';
  // /api/v1/[namespaces/NS/]RESOURCE[/NAME[/SUB]] or /apis/GROUP/VERSION/[namespaces/NS/]RESOURCE[/NAME[/SUB]]
  const parts = parsed.pathname.split('/').filter(Boolean);
  let rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  if (rest[0] === 'namespaces' && rest.length > 2) rest = rest.slice(2);
  return rest.length >= 2 ? 'get' : 'list';
}
