/**
 * The in-memory object store: one map per resource, a single resourceVersion counter (as etcd's
 * revision), and a bounded history of changes that watches replay from. Objects are cloned on the
 * way in and out so no caller can change what is stored behind the store's back.
 */
import type { KubeObject } from './types.ts';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoredEvent {
  rv: number;
  storageKey: string;
  type: EventType;
  object: KubeObject;
  /** The object before this change (for selector transitions in watches). */
  previous?: KubeObject;
}

export type StoreListener = (event: StoredEvent) => void;

const objectKey = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`;

export class ObjectStore {
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly history: StoredEvent[] = [];
  private readonly listeners = new Set<StoreListener>();
  private revision = 0;
  /** Highest resourceVersion no longer in the history; watches from before it get 410 Gone. */
  private compactedRevision = 0;

  constructor(private readonly historySize: number) {}

  get currentRevision(): number {
    return this.revision;
  }

  get oldestWatchableRevision(): number {
    return this.compactedRevision;
  }

  get(storageKey: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const obj = this.objects.get(storageKey)?.get(objectKey(namespace, name));
    return obj && structuredClone(obj);
  }

  list(storageKey: string, namespace?: string): KubeObject[] {
    const all = [...(this.objects.get(storageKey)?.values() ?? [])];
    const inScope = namespace ? all.filter((o) => o.metadata.namespace === namespace) : all;
    return inScope
      // Byte order of the keys, as etcd returns them (localeCompare would move '-' and '.').
      .sort((a, b) => {
        const [x, y] = [objectKey(a.metadata.namespace, a.metadata.name!), objectKey(b.metadata.namespace, b.metadata.name!)];
        return x < y ? -1 : x > y ? 1 : 0;
      })
      .map((o) => structuredClone(o));
  }

  /** Stores a new or changed object, stamping the next resourceVersion; returns what was stored. */
  put(storageKey: string, obj: KubeObject): KubeObject {
    const bucket = this.bucket(storageKey);
    const key = objectKey(obj.metadata.namespace, obj.metadata.name!);
    const previous = bucket.get(key);
    const stored = structuredClone(obj);
    stored.metadata.resourceVersion = String(++this.revision);
    bucket.set(key, stored);
    this.record({ rv: this.revision, storageKey, type: previous ? 'MODIFIED' : 'ADDED', object: stored, previous });
    return structuredClone(stored);
  }

  /**
   * Removes an object; the DELETED event carries a fresh resourceVersion, as the real server's
   * does, and `finalState` when the removal is an update's doing (the last finalizer removed).
   */
  remove(storageKey: string, namespace: string | undefined, name: string, finalState?: KubeObject): KubeObject | undefined {
    const bucket = this.bucket(storageKey);
    const key = objectKey(namespace, name);
    const previous = bucket.get(key);
    if (!previous) return undefined;
    bucket.delete(key);
    const gone = structuredClone(finalState ?? previous);
    gone.metadata.resourceVersion = String(++this.revision);
    this.record({ rv: this.revision, storageKey, type: 'DELETED', object: gone, previous });
    return structuredClone(gone);
  }

  /** Drops every object of a resource (its CRD was deleted), recording each deletion. */
  removeAll(storageKey: string): void {
    for (const obj of this.list(storageKey)) this.remove(storageKey, obj.metadata.namespace, obj.metadata.name!);
    this.objects.delete(storageKey);
  }

  /** Events after `rv`, or undefined when some of them are no longer kept (the caller answers 410). */
  eventsSince(rv: number): StoredEvent[] | undefined {
    if (rv < this.compactedRevision) return undefined;
    return this.history.filter((e) => e.rv > rv);
  }

  /** Forgets all history up to now, so any watch from an older resourceVersion gets 410 Gone. */
  compact(): void {
    this.history.length = 0;
    this.compactedRevision = this.revision;
  }

  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private bucket(storageKey: string): Map<string, KubeObject> {
    let bucket = this.objects.get(storageKey);
    if (!bucket) this.objects.set(storageKey, (bucket = new Map()));
    return bucket;
  }

  private record(event: StoredEvent): void {
    this.history.push(event);
    while (this.history.length > this.historySize) this.compactedRevision = this.history.shift()!.rv;
    for (const listener of this.listeners) listener(event);
  }
}
