/**
 * The controller's writes to the Kubernetes API (reads come from the informer caches in
 * informers.ts). Status updates are read-modify-write with the object's resourceVersion, so a
 * concurrent writer (the zigbee agent, kubectl) causes a 409 that is retried on fresh data
 * rather than lost.
 */
import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, VERSION, type ResourceDefinition } from '../api/crds.ts';
import type { Resource } from '../api/types.ts';

export interface ObjectRef {
  def: ResourceDefinition;
  name: string;
  namespace?: string;
}

/**
 * A status write's target with the object as the informer cache has it. updateStatus tries that
 * object first, with its resourceVersion, instead of GETting it: if the cache was current the
 * write costs one request, not two; if it was stale the server answers 409 and the write is
 * retried on a fresh GET, so a stale cache can cost a request but never overwrite a change.
 */
export interface CachedRef extends ObjectRef {
  cached?: Resource<unknown, unknown>;
}

export type EventType = 'Normal' | 'Warning';

export interface ClusterWriter {
  /** Applies `mutate` to the object's current status and writes it; retries on conflict. */
  updateStatus<S>(ref: CachedRef, mutate: (status: S, obj: Resource<unknown, S>) => S): Promise<void>;
  recordEvent(ref: ObjectRef & { uid?: string }, type: EventType, reason: string, message: string, action?: string): Promise<void>;
  readSecret(namespace: string, name: string): Promise<Record<string, string>>;
  /**
   * The object as the API server has it now (undefined when it is gone). Irreversible steps are
   * decided on this, not on the informer cache, which a silently dead watch can leave stale.
   */
  read<T>(ref: ObjectRef): Promise<T | undefined>;
}

/**
 * Records an Event and logs, never throws, when that fails: an Event is worth a log line, not a
 * failed action — but a silent failure once hid that a real API server refused every host Event.
 */
export async function recordEvent(
  writer: ClusterWriter,
  log: { warn(message: string): void },
  ref: ObjectRef & { uid?: string },
  type: EventType,
  reason: string,
  message: string,
  action?: string,
): Promise<void> {
  try {
    await writer.recordEvent(ref, type, reason, message, action);
  } catch (err) {
    log.warn(`Event ${reason} about ${ref.def.kind} ${ref.name} not recorded: ${(err as Error)?.message ?? err}`);
  }
}

const MAX_CONFLICT_RETRIES = 8;

export function isConflict(err: unknown): boolean {
  return (err as { code?: number })?.code === 409;
}

export function isNotFound(err: unknown): boolean {
  return (err as { code?: number })?.code === 404;
}

export class KubeClusterWriter implements ClusterWriter {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  /** Retries on 409 so far: a counter the metrics and tests read. */
  conflictsRetried = 0;

  constructor(
    kubeConfig: KubeConfig,
    private readonly reportingInstance: string,
  ) {
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  private async get(ref: ObjectRef): Promise<Resource<unknown, unknown>> {
    const base = { group: GROUP, version: VERSION, plural: ref.def.plural, name: ref.name };
    return ref.namespace
      ? this.custom.getNamespacedCustomObject({ ...base, namespace: ref.namespace })
      : this.custom.getClusterCustomObject(base);
  }

  private async replaceStatus(ref: ObjectRef, body: unknown): Promise<void> {
    const base = { group: GROUP, version: VERSION, plural: ref.def.plural, name: ref.name, body };
    await (ref.namespace
      ? this.custom.replaceNamespacedCustomObjectStatus({ ...base, namespace: ref.namespace })
      : this.custom.replaceClusterCustomObjectStatus(base));
  }

  async updateStatus<S>(ref: CachedRef, mutate: (status: S, obj: Resource<unknown, S>) => S): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const obj = (attempt === 0 && ref.cached?.metadata.resourceVersion ? ref.cached : await this.get(ref)) as Resource<unknown, S>;
      const status = mutate(structuredClone((obj.status ?? {}) as S), obj);
      try {
        await this.replaceStatus(ref, { ...obj, status });
        return;
      } catch (err) {
        if (!isConflict(err) || attempt >= MAX_CONFLICT_RETRIES) throw err;
        this.conflictsRetried++;
      }
    }
  }

  async recordEvent(ref: ObjectRef & { uid?: string }, type: EventType, reason: string, message: string, action?: string): Promise<void> {
    // An Event lives in its object's namespace; one about a cluster-scoped object (a host, the
    // policy) in `default`, as client-go's recorder puts it: the API server refuses any other
    // namespace ("involvedObject.namespace: does not match event.namespace").
    const namespace = ref.namespace ?? 'default';
    const now = new Date();
    await this.core.createNamespacedEvent({
      namespace,
      body: {
        metadata: { name: `${ref.name}.${Date.now().toString(16)}${randomBytes(3).toString('hex')}`, namespace },
        involvedObject: {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: ref.def.kind,
          name: ref.name,
          ...(ref.namespace ? { namespace: ref.namespace } : {}),
          ...(ref.uid ? { uid: ref.uid } : {}),
        },
        type,
        reason,
        message: message.slice(0, 1024),
        action: action ?? reason,
        source: { component: 'tide' },
        reportingComponent: 'tide.dev/operator',
        reportingInstance: this.reportingInstance,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
  }

  async read<T>(ref: ObjectRef): Promise<T | undefined> {
    try {
      return (await this.get(ref)) as T;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async readSecret(namespace: string, name: string): Promise<Record<string, string>> {
    const secret = await this.core.readNamespacedSecret({ namespace, name });
    const data: Record<string, string> = {};
    for (const [key, value] of Object.entries(secret.data ?? {})) data[key] = Buffer.from(value, 'base64').toString('utf8');
    for (const [key, value] of Object.entries(secret.stringData ?? {})) data[key] = value;
    return data;
  }
}
