/**
 * Informers on the three custom resources: a local cache the controller reads each round
 * (no list call per round), and a signal when something a user changed (a spec, an object
 * added or deleted) asks for a new decision. Status-only updates — most of them ours — do not.
 */
import { CoreV1Api, CustomObjectsApi, ListWatch, Watch, type Informer, type KubeConfig, type KubernetesObject, type ObjectCache, type V1Secret } from '@kubernetes/client-node';
import { CONSOLIDATION_PLAN, CONSOLIDATION_POLICY, GROUP, PHYSICAL_HOST, specWithDefaults, VERSION, VIRTUAL_MACHINE_MIGRATION, VIRTUAL_MACHINE_PLACEMENT, type ResourceDefinition } from '../api/crds.ts';
import type { ConsolidationPlan, ConsolidationPolicy, PhysicalHost, VirtualMachineMigration, VirtualMachinePlacement } from '../api/types.ts';
import { FORCE_REMOVE_ANNOTATION } from './removal.ts';

type Cached = Informer<KubernetesObject> & ObjectCache<KubernetesObject>;

/**
 * Each cached object's spec with its defaults filled in, worked out once per version of the
 * object (the cache replaces an object when it changes, never edits it): filling them in on every
 * list call — several a round — cost more than the planner at 100,000 VMs (--cpu-prof).
 */
const defaultedSpecs = new WeakMap<KubernetesObject, unknown>();

/**
 * Cached objects with their spec defaults filled in: shallow copies, so the cache itself is never
 * changed; the defaulted spec is shared between the copies of one version (read, never written).
 */
function withDefaults<T>(def: ResourceDefinition, objects: readonly KubernetesObject[]): T[] {
  return objects.map((o) => {
    let spec = defaultedSpecs.get(o);
    if (spec === undefined) defaultedSpecs.set(o, (spec = specWithDefaults(def, (o as { spec?: unknown }).spec)));
    return { ...o, spec } as T;
  });
}

export interface InformerEvents {
  /** A spec changed, or an object was added or deleted. */
  onSpecChange(kind: string, name: string): void;
  onError(kind: string, err: unknown): void;
}

const RESTART_DELAY_MS = [250, 1000, 5000, 15000];

/**
 * The object as the cache keeps it: without metadata.managedFields, as client-go's
 * TransformStripManagedFields does. Tide never reads them (field ownership is the API server's
 * business, and a status write that leaves them out keeps them), and they were the largest part
 * of every cached object: a host's status alone is owned field by field. A new metadata object,
 * not `delete`, so the object keeps its fast shape.
 */
export function withoutManagedFields<T extends KubernetesObject>(obj: T): T {
  if (!obj?.metadata?.managedFields) return obj;
  const { managedFields: _dropped, ...metadata } = obj.metadata;
  obj.metadata = metadata;
  return obj;
}

/**
 * client-node's makeInformer, but every object listed or watched goes through
 * withoutManagedFields before it reaches the cache or the handlers.
 */
function makeStrippingInformer(kubeConfig: KubeConfig, path: string, list: () => Promise<{ items: KubernetesObject[] }>, labelSelector?: string): Cached {
  const watch = new Watch(kubeConfig);
  const stripping: Pick<Watch, 'watch'> = {
    watch: (watchPath, params, callback, done) => watch.watch(watchPath, params, (phase, obj, watchObj) => callback(phase, withoutManagedFields(obj), watchObj), done),
  };
  const listStripped = async () => {
    const result = await list();
    for (const item of result.items ?? []) withoutManagedFields(item);
    return result;
  };
  return new ListWatch<KubernetesObject>(path, stripping as Watch, listStripped as never, false, labelSelector);
}

/**
 * client-node 1.4 sends no timeoutSeconds with its watches and drops its own client timeout, so
 * a watch whose connection dies silently (a NAT or load balancer forgetting it) leaves the cache
 * stale until TCP keepalive gives up, about 12 minutes. Like client-go, which ends each watch
 * after 5–10 minutes, every watch is restarted after a jittered interval: it resumes from its
 * resourceVersion (a re-list only on 410), so a quiet but healthy watch costs one request.
 */
export const DEFAULT_WATCH_RESTART_MS = 5 * 60_000;

export interface InformerOptions {
  /** Restart each watch after this long, jittered up to twice it (default 5 min). */
  watchRestartMs?: number;
  /**
   * Tide's own namespace: the Secrets there (SSH and IPMI credentials) are cached by one
   * namespaced informer, instead of a GET per host per round, and the ConsolidationPlans there
   * watched. Without it, no Secret and no plan is cached.
   */
  secretNamespace?: string;
  /** Only the ConsolidationPolicies this label selector matches are listed and watched (`--policy-selector`). */
  policySelector?: string;
}

/** A Secret's data, decoded (stringData is never stored, but a cache fed by hand may have it). */
export function secretData(secret: V1Secret): Record<string, string> {
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(secret.data ?? {})) data[key] = Buffer.from(value, 'base64').toString('utf8');
  for (const [key, value] of Object.entries(secret.stringData ?? {})) data[key] = value;
  return data;
}

export class ResourceInformers {
  private readonly hosts: Cached;
  private readonly placements: Cached;
  private readonly policies: Cached;
  private readonly migrations: Cached;
  private readonly secrets?: Cached;
  private readonly plans?: Cached;
  private stopped = false;
  private readonly restartTimers: NodeJS.Timeout[] = [];
  /** Failed starts in a row per kind, for the restart delay; reset only by an answer from the API server. */
  private readonly failures = new Map<string, number>();

  constructor(kubeConfig: KubeConfig, private readonly events: InformerEvents, private readonly options: InformerOptions = {}) {
    const api = kubeConfig.makeApiClient(CustomObjectsApi);
    const make = (def: ResourceDefinition, labelSelector?: string): Cached => {
      const path = `/apis/${GROUP}/${VERSION}/${def.plural}`;
      const list = this.listing(def.kind, () => api.listCustomObjectForAllNamespaces({ group: GROUP, version: VERSION, plural: def.plural, ...(labelSelector ? { labelSelector } : {}) }));
      const informer = makeStrippingInformer(kubeConfig, path, list as never, labelSelector || undefined);
      this.wire(def.kind, informer);
      return informer;
    };
    this.hosts = make(PHYSICAL_HOST);
    this.placements = make(VIRTUAL_MACHINE_PLACEMENT);
    // An instance that owns some policies sees no other: the server filters list and watch.
    this.policies = make(CONSOLIDATION_POLICY, options.policySelector);
    this.migrations = make(VIRTUAL_MACHINE_MIGRATION);
    const namespace = options.secretNamespace;
    if (namespace) {
      const core = kubeConfig.makeApiClient(CoreV1Api);
      const list = this.listing('Secret', () => core.listNamespacedSecret({ namespace }));
      this.secrets = makeStrippingInformer(kubeConfig, `/api/v1/namespaces/${namespace}/secrets`, list as never);
      // A changed Secret is read at the next observation; it asks for no decision.
      this.wire('Secret', this.secrets, false);
      // ConsolidationPlans live in Tide's namespace only (plan-approval.ts). Only a changed spec
      // (an approval) asks for a decision: Tide's own creates, status writes and deletes do not.
      const plans = this.listing('ConsolidationPlan', () => api.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: CONSOLIDATION_PLAN.plural, namespace }));
      this.plans = makeStrippingInformer(kubeConfig, `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${CONSOLIDATION_PLAN.plural}`, plans as never);
      this.wire('ConsolidationPlan', this.plans, false);
      const generations = new Map<string, number | undefined>();
      this.plans.on('add', (obj) => generations.set(obj.metadata?.name ?? '', obj.metadata?.generation));
      this.plans.on('delete', (obj) => generations.delete(obj.metadata?.name ?? ''));
      this.plans.on('update', (obj) => {
        const name = obj.metadata?.name ?? '';
        if (generations.has(name) && generations.get(name) !== obj.metadata?.generation) this.events.onSpecChange('ConsolidationPlan', name);
        generations.set(name, obj.metadata?.generation);
      });
    }
  }

  /**
   * The list call, counted as an answer when it succeeds. Not client-node's 'connect' event:
   * that fires before every list, so resetting on it kept the delay at its first step and an
   * unreachable server got a request and a warning every 250 ms per informer, for ever.
   */
  private listing<T>(kind: string, list: () => Promise<T>): () => Promise<T> {
    return async () => {
      const result = await list();
      this.failures.set(kind, 0);
      return result;
    };
  }

  private get all(): [string, Cached][] {
    const all: [string, Cached][] = [['PhysicalHost', this.hosts], ['VirtualMachinePlacement', this.placements], ['ConsolidationPolicy', this.policies], ['VirtualMachineMigration', this.migrations]];
    return [...all, ...(this.secrets ? [['Secret', this.secrets] as [string, Cached]] : []), ...(this.plans ? [['ConsolidationPlan', this.plans] as [string, Cached]] : [])];
  }

  private wireChanges(kind: string, informer: Informer<KubernetesObject>): void {
    const changed = (obj: KubernetesObject) => this.events.onSpecChange(kind, obj.metadata?.name ?? '');
    informer.on('add', changed);
    informer.on('delete', changed);
    // What a user changes: the spec (generation), a deletion (deletionTimestamp: a host held by
    // Tide's finalizer is evacuated) and the force-remove annotation. Not status.
    const generations = new Map<string, string>();
    informer.on('update', (obj) => {
      const key = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name}`;
      const meta = obj.metadata;
      const generation = `${meta?.generation}|${meta?.deletionTimestamp ?? ''}|${meta?.annotations?.[FORCE_REMOVE_ANNOTATION] ?? ''}`;
      if (generations.get(key) !== generation) changed(obj);
      generations.set(key, generation);
    });
  }

  private wire(kind: string, informer: Informer<KubernetesObject>, asksForDecisions = true): void {
    if (asksForDecisions) this.wireChanges(kind, informer);
    // Any object seen means the API server answered (a watch resumed without a list).
    for (const verb of ['add', 'update', 'delete'] as const) informer.on(verb, () => this.failures.set(kind, 0));
    // client-node re-lists by itself on 410 Gone; any other error stops the informer, so
    // restart it with a growing delay until the API server answers again.
    informer.on('error', (err) => {
      if (this.stopped) return;
      this.events.onError(kind, err);
      const failures = this.failures.get(kind) ?? 0;
      this.failures.set(kind, failures + 1);
      const delay = RESTART_DELAY_MS[Math.min(failures, RESTART_DELAY_MS.length - 1)]!;
      setTimeout(() => {
        if (!this.stopped) informer.start().catch((e) => this.events.onError(kind, e));
      }, delay).unref();
    });
  }

  async start(): Promise<void> {
    const all = this.all;
    await Promise.all(all.map(([, informer]) => informer.start()));
    for (const [kind, informer] of all) this.scheduleRestart(kind, informer);
  }

  private scheduleRestart(kind: string, informer: Cached): void {
    const base = this.options.watchRestartMs ?? DEFAULT_WATCH_RESTART_MS;
    const timer = setTimeout(async () => {
      this.restartTimers.splice(this.restartTimers.indexOf(timer), 1);
      if (this.stopped) return;
      await informer.stop();
      if (this.stopped) return;
      informer.start().catch((e) => this.events.onError(kind, e));
      this.scheduleRestart(kind, informer);
    }, Math.min(base * (1 + Math.random()), 2 ** 31 - 1));
    timer.unref();
    this.restartTimers.push(timer);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.restartTimers.splice(0)) clearTimeout(timer);
    await Promise.all(this.all.map(([, informer]) => informer.stop()));
  }

  listHosts(): PhysicalHost[] {
    return withDefaults(PHYSICAL_HOST, this.hosts.list());
  }

  listPlacements(): VirtualMachinePlacement[] {
    return withDefaults(VIRTUAL_MACHINE_PLACEMENT, this.placements.list());
  }

  listPolicies(): ConsolidationPolicy[] {
    return withDefaults(CONSOLIDATION_POLICY, this.policies.list());
  }

  listMigrations(): VirtualMachineMigration[] {
    return withDefaults(VIRTUAL_MACHINE_MIGRATION, this.migrations.list());
  }

  listPlans(): ConsolidationPlan[] {
    return this.plans ? withDefaults(CONSOLIDATION_PLAN, this.plans.list()) : [];
  }

  /**
   * A Secret's data from the cache; undefined when it is not there, or when it lies outside
   * Tide's namespace, the only one whose Secrets Tide may read.
   */
  getSecret(namespace: string, name: string): Record<string, string> | undefined {
    if (!this.secrets || namespace !== this.options.secretNamespace) return undefined;
    const secret = this.secrets.get(name, namespace) as V1Secret | undefined;
    return secret ? secretData(secret) : undefined;
  }
}
