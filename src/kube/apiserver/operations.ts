/**
 * What each verb does to stored objects, with the real server's semantics: server-set metadata,
 * generation on spec changes only, status only through its subresource, 409 on a stale
 * resourceVersion, finalizers and deletionTimestamp, namespaces that must exist and that take
 * their contents with them, CRDs that become served resources.
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { defaultCrd, establish, validateCrd } from './crd.ts';
import { recordUpdate, withoutManagedFieldsTimes } from './managed-fields.ts';
import { generatedName, keepServerFields, mapCauses, nameCauses, specPart } from './metadata.ts';
import type { ResourceRegistry } from './registry.ts';
import { alreadyExists, ApiError, badRequest, conflict, fieldError, forbidden, invalid, notFound, preconditionFailed, type StatusCause } from './status.ts';
import type { ObjectStore } from './store.ts';
import { apiVersionOf, type KubeObject, type ResourceType } from './types.ts';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface WriteOptions {
  fieldValidation: FieldValidation;
  dryRun: boolean;
  /** Warnings for the client (the `Warning` response header). */
  warnings: string[];
  /** A PATCH's result before it is prepared: strict decoding errors name it, as the real server's do. */
  patched?: KubeObject;
  /**
   * Who writes, for managedFields (the fieldManager parameter, else the User-Agent's first
   * word). Unset for server-side apply, which records its own entry, and for objects given at start.
   */
  manager?: string;
}

const isCrd = (r: ResourceType) => r.group === 'apiextensions.k8s.io' && r.plural === 'customresourcedefinitions';
const isNamespace = (r: ResourceType) => r.group === '' && r.plural === 'namespaces';

const RFC3339_MICRO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/;

function checkMicroTimes(r: ResourceType, obj: KubeObject): void {
  for (const path of r.microTimeFields ?? []) {
    const value = path.split('.').reduce<any>((v, key) => v?.[key], obj);
    if (value === undefined || value === null || (typeof value === 'string' && RFC3339_MICRO.test(value))) continue;
    // Go's time.Parse names the part after the seconds it could not read (client-node: V1MicroTime writes six digits, a Date three).
    const rest = typeof value === 'string' ? value.slice(19) : String(value);
    throw badRequest(
      `${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: parsing time ${JSON.stringify(value)} as "2006-01-02T15:04:05.000000Z07:00": cannot parse ${JSON.stringify(rest)} as ".000000"`,
    );
  }
}

/** JSON with keys in sorted order, as Go encodes a map (the real server quotes a patched object so). */
function jsonSortedKeys(value: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sort) : typeof v === 'object' && v !== null ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])])) : v;
  return JSON.stringify(sort(value));
}

/** How Go's encoding/json names the type of a JSON value it could not unmarshal. */
function jsonTypeName(value: unknown): string {
  return Array.isArray(value) ? 'array' : typeof value === 'boolean' ? 'bool' : typeof value;
}

const STRING_META = ['name', 'generateName', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp'] as const;

/**
 * What the real server's decoder says about an ObjectMeta of the wrong shape (a number for a
 * name, labels that are not a string map …), in encoding/json's words; undefined when it decodes.
 * Built-ins name the field `ObjectMeta.metadata.name`, custom resources `ObjectMeta.name`.
 */
function metadataTypeProblem(r: ResourceType, metadata: unknown): string | undefined {
  if (metadata === undefined || metadata === null) return undefined;
  if (typeof metadata !== 'object' || Array.isArray(metadata)) {
    const into = r.custom ? 'Go value' : `Go struct field ${r.kind}.metadata`;
    return `json: cannot unmarshal ${jsonTypeName(metadata)} into ${into} of type v1.ObjectMeta`;
  }
  const meta = metadata as Record<string, unknown>;
  const field = (key: string) => `Go struct field ObjectMeta.${r.custom ? '' : 'metadata.'}${key}`;
  const wrong = (key: string, value: unknown, type: string) => `json: cannot unmarshal ${jsonTypeName(value)} into ${field(key)} of type ${type}`;
  for (const key of STRING_META) {
    const value = meta[key];
    if (value !== undefined && value !== null && typeof value !== 'string') return wrong(key, value, 'string');
  }
  if (meta.generation !== undefined && meta.generation !== null && !Number.isInteger(meta.generation)) return wrong('generation', meta.generation, 'int64');
  for (const key of ['labels', 'annotations']) {
    const map = meta[key];
    if (map === undefined || map === null) continue;
    if (typeof map !== 'object' || Array.isArray(map)) return wrong(key, map, 'map[string]string');
    const bad = Object.values(map).find((v) => typeof v !== 'string' && v !== null);
    if (bad !== undefined) return wrong(key, bad, 'string');
  }
  for (const key of ['finalizers', 'ownerReferences', 'managedFields']) {
    const list = meta[key];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) return wrong(key, list, key === 'finalizers' ? '[]string' : `[]v1.${key === 'ownerReferences' ? 'OwnerReference' : 'ManagedFieldsEntry'}`);
    const itemType = key === 'finalizers' ? 'string' : 'object';
    const bad = list.find((item) => (itemType === 'string' ? typeof item !== 'string' : typeof item !== 'object' || item === null || Array.isArray(item)));
    if (bad !== undefined) return wrong(key, bad, itemType === 'string' ? 'string' : `v1.${key === 'ownerReferences' ? 'OwnerReference' : 'ManagedFieldsEntry'}`);
  }
  return undefined;
}

export class Operations {
  constructor(
    private readonly store: ObjectStore,
    private readonly registry: ResourceRegistry,
    /** Runs background work (the namespace controller's) a little later; the server owns the timer. */
    private readonly later: (work: () => void) => void,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** A stored object as the resource's version presents it. */
  view(r: ResourceType, stored: KubeObject): KubeObject {
    const shaped = r.fromStorage ? r.fromStorage(stored) : stored;
    return { ...shaped, apiVersion: apiVersionOf(r), kind: r.kind };
  }

  private toStored(r: ResourceType, obj: KubeObject): KubeObject {
    return r.toStorage ? r.toStorage(obj) : obj;
  }

  get(r: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const found = this.find(r, namespace, name);
    if (!found) throw notFound(r, name);
    return found;
  }

  find(r: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const stored = this.store.get(r.storageKey, namespace, name);
    return stored && this.view(r, stored);
  }

  list(r: ResourceType, namespace: string | undefined, matches: (o: KubeObject) => boolean): { items: KubeObject[]; resourceVersion: string } {
    const items = this.store.list(r.storageKey, namespace).map((o) => this.view(r, o)).filter(matches);
    return { items, resourceVersion: String(this.store.currentRevision) };
  }

  create(r: ResourceType, namespace: string | undefined, body: KubeObject, opts: WriteOptions): KubeObject {
    const obj = this.checkBody(r, body, namespace);
    if (obj.metadata.resourceVersion) throw badRequest('resourceVersion should not be set on objects to be created');
    if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = generatedName(obj.metadata.generateName);
    if (r.namespaced) this.requireLiveNamespace(r, namespace!, obj.metadata.name ?? '');
    if (obj.metadata.name && this.store.get(r.storageKey, namespace, obj.metadata.name)) throw alreadyExists(r, obj.metadata.name);
    if (r.custom && r.statusSubresource) delete obj.status;
    const meta = obj.metadata;
    for (const key of ['uid', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const) delete meta[key];
    Object.assign(meta, { uid: randomUUID(), creationTimestamp: this.timestamp() }, r.tracksGeneration ? { generation: 1 } : {});
    this.prepare(r, obj, undefined, opts);
    this.recordManager(r, undefined, obj, undefined, opts);
    r.prepareForCreate?.(obj);
    if (isCrd(r)) establish(obj, undefined, this.timestamp());
    if (opts.dryRun) return this.view(r, this.toStored(r, obj));
    const stored = this.store.put(r.storageKey, this.toStored(r, obj));
    if (isCrd(r)) this.registry.registerCrd(stored);
    return this.view(r, stored);
  }

  /** PUT of the object or of its status subresource. */
  update(r: ResourceType, namespace: string | undefined, name: string, body: KubeObject, subresource: 'status' | undefined, opts: WriteOptions): KubeObject {
    const candidate = this.checkBody(r, body, namespace);
    if (candidate.metadata.name !== name) {
      throw badRequest(`the name of the object (${candidate.metadata.name}) does not match the name on the URL (${name})`);
    }
    const old = this.get(r, namespace, name);
    if (!candidate.metadata.resourceVersion && r.custom) {
      // Named by resource, not kind, as the real server's update path does.
      throw invalid({ group: r.group, plural: r.plural, kind: r.plural }, name, [fieldError.invalid('metadata.resourceVersion', 0, 'must be specified for an update')]);
    }
    return this.write(r, old, candidate, subresource, opts);
  }

  /**
   * The result of a merge, JSON or strategic patch of `name`, checked as the real server decodes
   * it before anything else: a patch may leave no object, metadata of the wrong type, or no name.
   */
  checkPatched(r: ResourceType, name: string, result: unknown): KubeObject {
    // A strategic `$patch: delete` of the whole object leaves nothing: decoded, an object without a name.
    const patched = result === undefined ? {} : result;
    if (typeof patched !== 'object' || patched === null || Array.isArray(patched)) {
      throw new ApiError(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
    }
    const obj = patched as KubeObject;
    const problem = metadataTypeProblem(r, obj.metadata);
    if (problem) throw invalid({ group: '', plural: '', kind: '' }, '', [fieldError.invalid('patch', jsonSortedKeys(obj), problem)]);
    if (!obj.metadata?.name) throw badRequest(`the name of the object (${name} based on URL) was undeterminable: name must be provided`);
    return obj;
  }

  /** Writes a changed object over `old` (PUT and PATCH both end here). */
  write(r: ResourceType, old: KubeObject, candidate: KubeObject, subresource: 'status' | undefined, opts: WriteOptions): KubeObject {
    const name = old.metadata.name!;
    const sentVersion = candidate.metadata.resourceVersion;
    if (sentVersion && sentVersion !== old.metadata.resourceVersion) throw conflict(r, name);
    if (candidate.metadata.uid && candidate.metadata.uid !== old.metadata.uid) {
      throw new ApiError(409, 'Conflict', `Precondition failed: UID in precondition: ${candidate.metadata.uid}, UID in object meta: ${old.metadata.uid}`);
    }
    // The status subresource changes status only; the main resource never changes status.
    const next: KubeObject =
      subresource === 'status'
        ? { ...structuredClone(old), status: candidate.status }
        : r.statusSubresource
          ? { ...candidate, status: structuredClone(old.status) }
          : candidate;
    if (next.status === undefined) delete next.status;
    // A write that leaves managedFields out keeps them (as on a real server); apply sets them.
    const managedFields = candidate.metadata.managedFields ?? old.metadata.managedFields;
    if (managedFields !== undefined) next.metadata = { ...next.metadata, managedFields };
    keepServerFields(next, old);
    next.metadata.resourceVersion = old.metadata.resourceVersion;
    if (old.metadata.deletionTimestamp) {
      const added = (next.metadata.finalizers ?? []).filter((f) => !(old.metadata.finalizers ?? []).includes(f));
      if (added.length) {
        // The real server finds this twice (object meta and finalizer checks): one message, two causes.
        const cause = fieldError.forbidden('metadata.finalizers', `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}`);
        throw invalid(r, name, [cause, cause]);
      }
    }
    this.prepare(r, next, old, opts);
    this.recordManager(r, old, next, subresource, opts);
    if (isCrd(r) && subresource !== 'status') establish(next, old, this.timestamp());
    if (r.tracksGeneration && !isDeepStrictEqual(specPart(next, r.statusSubresource), specPart(old, r.statusSubresource))) {
      next.metadata.generation = (old.metadata.generation ?? 1) + 1;
    }
    // A write that changes nothing but managedFields' times is no write (as on a real server).
    if (isDeepStrictEqual(withoutManagedFieldsTimes(next), withoutManagedFieldsTimes(old))) return old;
    if (opts.dryRun) return next;
    const stored = this.toStored(r, next);
    // The last finalizer removed from a deleted object lets it go (namespaces go when emptied).
    if (!isNamespace(r) && next.metadata.deletionTimestamp && !(next.metadata.finalizers ?? []).length) {
      return this.view(r, this.removeNow(r, stored));
    }
    const written = this.store.put(r.storageKey, stored);
    if (isCrd(r)) this.registry.registerCrd(written);
    return this.view(r, written);
  }

  /**
   * DELETE: objects with finalizers only get a deletionTimestamp (and go once their finalizers
   * are removed); others go at once. Returns the object as it was last stored.
   */
  delete(r: ResourceType, namespace: string | undefined, name: string, preconditions?: { resourceVersion?: string; uid?: string }, dryRun = false): KubeObject {
    const stored = this.store.get(r.storageKey, namespace, name);
    if (!stored) throw notFound(r, name);
    if (preconditions?.uid && preconditions.uid !== stored.metadata.uid) throw preconditionFailed(r, name, 'UID', preconditions.uid, stored.metadata.uid!);
    if (preconditions?.resourceVersion && preconditions.resourceVersion !== stored.metadata.resourceVersion) {
      throw preconditionFailed(r, name, 'ResourceVersion', preconditions.resourceVersion, stored.metadata.resourceVersion!);
    }
    if (dryRun) return this.view(r, stored);
    if (isNamespace(r)) return this.view(r, this.terminateNamespace(stored));
    if ((stored.metadata.finalizers ?? []).length) {
      if (stored.metadata.deletionTimestamp) return this.view(r, stored);
      stored.metadata.deletionTimestamp = this.timestamp();
      stored.metadata.deletionGracePeriodSeconds = 0;
      // Marking an object as deleting is a change of its generation on a real server.
      if (stored.metadata.generation) stored.metadata.generation += 1;
      return this.view(r, this.store.put(r.storageKey, stored));
    }
    return this.view(r, this.removeNow(r, stored));
  }

  /** Deletes Events last seen before `cutoff`, as a real cluster's event TTL (1 h) does. */
  expireEvents(cutoff: Date): number {
    const events = this.registry.find('', 'v1', 'events')!;
    const expired = this.store.list(events.storageKey).filter((e) => {
      const seen = Date.parse(e.lastTimestamp ?? e.series?.lastObservedTime ?? e.eventTime ?? e.metadata.creationTimestamp ?? '');
      return !Number.isNaN(seen) && seen < cutoff.getTime();
    });
    for (const e of expired) this.store.remove(events.storageKey, e.metadata.namespace, e.metadata.name!);
    return expired.length;
  }

  private removeNow(r: ResourceType, stored: KubeObject): KubeObject {
    const gone = this.store.remove(r.storageKey, stored.metadata.namespace, stored.metadata.name!, stored)!;
    if (isCrd(r)) {
      this.store.removeAll(`${stored.spec.group}/${stored.spec.names.plural}`);
      this.registry.unregisterCrd(stored.metadata.name!);
    }
    if (stored.metadata.namespace) this.finishNamespaceIfEmpty(stored.metadata.namespace);
    return gone;
  }

  /**
   * A deleted namespace turns Terminating at once; like the real namespace controller, a moment
   * later its contents are deleted (finalizers honoured) and it goes once they are gone.
   */
  private terminateNamespace(ns: KubeObject): KubeObject {
    if (ns.metadata.deletionTimestamp) return ns;
    ns.metadata.deletionTimestamp = this.timestamp();
    ns.status = { ...(ns.status ?? {}), phase: 'Terminating' };
    const terminating = this.store.put('/namespaces', ns);
    this.later(() => this.emptyNamespace(ns.metadata.name!));
    return terminating;
  }

  private emptyNamespace(name: string): void {
    for (const r of this.uniqueStorages().filter((x) => x.namespaced)) {
      for (const obj of this.store.list(r.storageKey, name)) {
        if (!obj.metadata.deletionTimestamp) this.delete(r, name, obj.metadata.name!);
      }
    }
    this.finishNamespaceIfEmpty(name);
  }

  private finishNamespaceIfEmpty(name: string): KubeObject | undefined {
    const ns = this.store.get('/namespaces', undefined, name);
    if (!ns?.metadata.deletionTimestamp) return undefined;
    const remaining = this.uniqueStorages().some((r) => r.namespaced && this.store.list(r.storageKey, name).length > 0);
    return remaining ? undefined : this.store.remove('/namespaces', undefined, name);
  }

  private uniqueStorages(): ResourceType[] {
    const seen = new Map<string, ResourceType>();
    for (const r of this.registry.all()) if (!seen.has(r.storageKey)) seen.set(r.storageKey, r);
    return [...seen.values()];
  }

  private requireLiveNamespace(r: ResourceType, namespace: string, name: string): void {
    const ns = this.store.get('/namespaces', undefined, namespace);
    if (!ns) throw notFound({ group: '', plural: 'namespaces', kind: 'Namespace' }, namespace);
    if (ns.metadata.deletionTimestamp) {
      const refused = forbidden(r, name, `unable to create new content in namespace ${namespace} because it is being terminated`);
      refused.details!.causes = [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }];
      throw refused;
    }
  }

  /** Checks apiVersion/kind/namespace of a request body against the URL; returns a working copy. */
  private checkBody(r: ResourceType, body: KubeObject, namespace: string | undefined): KubeObject {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the request body must be a JSON object');
    const problem = metadataTypeProblem(r, body.metadata);
    if (problem) throw badRequest(`${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: ${problem}`);
    const obj = structuredClone(body);
    obj.metadata = typeof obj.metadata === 'object' && obj.metadata !== null ? obj.metadata : {};
    const expected = apiVersionOf(r);
    if (obj.apiVersion && obj.apiVersion !== expected) {
      throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${expected})`);
    }
    if (obj.kind && obj.kind !== r.kind) throw badRequest(`the kind in the data (${obj.kind}) does not match the expected kind (${r.kind})`);
    obj.apiVersion = expected;
    obj.kind = r.kind;
    if (r.namespaced) {
      if (obj.metadata.namespace && obj.metadata.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      obj.metadata.namespace = namespace;
    } else delete obj.metadata.namespace;
    return obj;
  }

  /** Normalises, prunes, defaults and validates an object about to be stored (422 / 400 on failure). */
  private prepare(r: ResourceType, obj: KubeObject, old: KubeObject | undefined, opts: WriteOptions): void {
    checkMicroTimes(r, obj);
    r.normalize?.(obj);
    if (isCrd(r)) defaultCrd(obj);
    const causes: StatusCause[] = [...nameCauses(obj, isNamespace(r)), ...mapCauses(obj)];
    if (r.validator) {
      const pruned = r.validator.pruneAndDefault(obj);
      if (pruned.length && opts.fieldValidation === 'Strict') {
        const problem = `strict decoding error: ${pruned.map((p) => `unknown field "${p}"`).join(', ')}`;
        if (opts.patched) throw invalid({ group: '', plural: '', kind: '' }, '', [fieldError.invalid('patch', jsonSortedKeys(opts.patched), problem)]);
        throw badRequest(`${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: ${problem}`);
      }
      if (opts.fieldValidation === 'Warn') opts.warnings.push(...pruned.map((p) => `unknown field "${p}"`));
      causes.push(...r.validator.validate(obj, old, causes));
    }
    causes.push(...(r.validateBuiltin?.(obj) ?? []));
    if (isCrd(r)) causes.push(...validateCrd(obj));
    if (causes.length) throw invalid(r, obj.metadata.name ?? '', causes);
  }

  private recordManager(r: ResourceType, old: KubeObject | undefined, next: KubeObject, subresource: 'status' | undefined, opts: WriteOptions): void {
    if (opts.manager === undefined) return;
    recordUpdate(old, next, { manager: opts.manager, apiVersion: apiVersionOf(r), now: this.timestamp(), subresource, schema: r.openapiSchema, zero: r.zero });
  }

  private timestamp(): string {
    return this.now().toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
}
