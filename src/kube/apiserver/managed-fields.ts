/**
 * metadata.managedFields as a real server keeps them (sigs.k8s.io/structured-merge-diff): sets
 * of field paths per manager, encoded as FieldsV1. Every write records who changed what: an
 * Update manager (the fieldManager query parameter, else the User-Agent's first word) takes over
 * the fields it added or changed, other managers lose them, and removed fields leave every set.
 * Server-side apply (server-side-apply.ts) uses the same comparison to find its conflicts.
 */
import { isDeepStrictEqual } from 'node:util';
import { fieldSchema, type Schema } from './validation/schema-walk.ts';
import type { KubeObject } from './types.ts';

/** A step of a field path: a field, an item of a map-type list (by its keys), or of a set-type list (by value). */
export type Segment = string | { key: Record<string, unknown> } | { value: unknown };
export type Path = Segment[];

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time?: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

export const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** ObjectMeta as the real server types it: labels and annotations maps, finalizers a set, ownerReferences keyed by uid. */
const METADATA_SCHEMA: Schema = {
  type: 'object',
  properties: {
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
    finalizers: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } },
    ownerReferences: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['uid'], items: { type: 'object' } },
  },
};

/** The resource's schema with ObjectMeta's list types under metadata. */
export const objectSchema = (schema: Schema | undefined): Schema => ({ ...(schema ?? {}), properties: { ...(schema?.properties ?? {}), metadata: METADATA_SCHEMA } });

export const mapKeys = (schema: Schema | undefined): string[] | undefined =>
  schema?.['x-kubernetes-list-type'] === 'map' ? schema['x-kubernetes-list-map-keys'] : undefined;
const isSet = (schema: Schema | undefined) => schema?.['x-kubernetes-list-type'] === 'set';
export const pick = (item: Record<string, unknown>, keys: string[]) => Object.fromEntries([...keys].sort().map((k) => [k, item[k]]));
export const pathId = (path: Path) => JSON.stringify(path);

/** Never part of a manager's set (the real server's stripMetaManager). */
const STRIPPED = new Set(['apiVersion', 'kind', 'metadata', 'metadata.name', 'metadata.namespace', 'metadata.creationTimestamp', 'metadata.selfLink', 'metadata.uid', 'metadata.generation', 'metadata.managedFields', 'metadata.resourceVersion']);
const stripped = (path: Path) => path.length <= 2 && path.every((s) => typeof s === 'string') && STRIPPED.has(path.join('.'));

/** The children of a container value, each with its path step; undefined for a leaf (scalars, atomic lists). */
function children(value: unknown, schema: Schema | undefined): [Segment, unknown, Schema | undefined][] | undefined {
  if (isObject(value)) return Object.entries(value).map(([k, v]) => [k, v, fieldSchema(schema, k)]);
  if (!Array.isArray(value)) return undefined;
  const keys = mapKeys(schema);
  if (keys) return value.filter(isObject).map((item) => [{ key: pick(item, keys) }, item, schema!.items]);
  if (isSet(schema)) return value.map((item) => [{ value: item }, item, schema!.items]);
  return undefined;
}

const segmentId = (s: Segment) => JSON.stringify(s);

export interface Comparison {
  added: Path[];
  modified: Path[];
  removed: Path[];
}

/**
 * What changed from `lhs` to `rhs`, as structured-merge-diff's Compare reports it: leaves that
 * appeared, changed or went, and container nodes (maps, keyed list items) that appeared or went.
 */
export function compare(lhs: unknown, rhs: unknown, schema: Schema | undefined): Comparison {
  const out: Comparison = { added: [], modified: [], removed: [] };
  walk(lhs, rhs, schema, [], out);
  return out;
}

function walk(lhs: unknown, rhs: unknown, schema: Schema | undefined, path: Path, out: Comparison): void {
  if (path.length && stripped(path) && path.join('.') !== 'metadata') return;
  const l = lhs === undefined ? undefined : children(lhs, schema);
  const r = rhs === undefined ? undefined : children(rhs, schema);
  const leaf = (lhs !== undefined && !l) || (rhs !== undefined && !r);
  if (leaf) {
    if (lhs === undefined) out.added.push(path);
    else if (rhs === undefined) out.removed.push(path);
    else if (!isDeepStrictEqual(lhs, rhs)) out.modified.push(path);
    return;
  }
  const left = new Map((l ?? []).map((c) => [segmentId(c[0]), c]));
  const right = new Map((r ?? []).map((c) => [segmentId(c[0]), c]));
  for (const id of new Set([...left.keys(), ...right.keys()])) {
    const [seg, , childSchema] = (right.get(id) ?? left.get(id))!;
    walk(left.get(id)?.[1], right.get(id)?.[1], childSchema, [...path, seg], out);
  }
  if (path.length && !stripped(path)) {
    if (lhs === undefined) out.added.push(path);
    else if (rhs === undefined) out.removed.push(path);
  }
}

/**
 * The fields a configuration sets, as structured-merge-diff's ToFieldSet gives them for an
 * apply: leaves, list items, map entries that are no declared field, and empty maps.
 */
export function fieldSet(value: unknown, schema: Schema | undefined, path: Path = [], out: Path[] = []): Path[] {
  const kids = children(value, schema);
  if (!kids || (isObject(value) && kids.length === 0)) {
    if (path.length && !stripped(path)) out.push(path);
    return out;
  }
  for (const [seg, child, childSchema] of kids) {
    const at = [...path, seg];
    if (stripped(at) && at.join('.') !== 'metadata') continue;
    fieldSet(child, childSchema, at, out);
    // An object's top-level fields are always its struct's (built-ins here have no schema for them).
    const declared = typeof seg === 'string' && (path.length === 0 || schema?.properties?.[seg] !== undefined);
    if (typeof seg !== 'string' || (!declared && !stripped(at) && isObject(child))) out.push(at);
  }
  return out;
}

/** FieldsV1 as a real server writes it: `{"f:spec":{".":{},"f:size":{}}}`, items as `k:{"type":"Ready"}` and `v:"a"`. */
export function encode(paths: Path[]): Record<string, unknown> {
  const root: Record<string, any> = {};
  const members = new Set<Record<string, any>>();
  for (const path of paths) {
    let node = root;
    for (const seg of path) {
      const name = typeof seg === 'string' ? `f:${seg}` : 'key' in seg ? `k:${JSON.stringify(seg.key)}` : `v:${JSON.stringify(seg.value)}`;
      node = node[name] ??= {};
    }
    members.add(node);
  }
  // A member with members beneath it is marked with "."; one without is just {}.
  const mark = (node: Record<string, any>) => {
    const kids = Object.values(node);
    kids.forEach(mark);
    if (members.has(node) && kids.length) {
      const sorted = Object.fromEntries(Object.entries(node));
      for (const k of Object.keys(node)) delete node[k];
      Object.assign(node, { '.': {} }, sorted);
    }
  };
  mark(root);
  return root;
}

export function decode(fields: Record<string, any>, path: Path = [], out: Path[] = []): Path[] {
  const entries = Object.entries(fields).filter(([k]) => k !== '.');
  if ((entries.length === 0 || '.' in fields) && path.length) out.push(path);
  for (const [k, v] of entries) {
    const seg: Segment = k.startsWith('k:') ? { key: JSON.parse(k.slice(2)) } : k.startsWith('v:') ? { value: JSON.parse(k.slice(2)) } : k.slice(2);
    decode(v ?? {}, [...path, seg], out);
  }
  return out;
}

/** `.spec.size`, `.status.conditions[type="Ready"].status`, `.metadata.finalizers[="x"]`: paths as conflicts name them. */
export const dotted = (path: Path) =>
  path
    .map((s) => (typeof s === 'string' ? `.${s}` : 'key' in s ? `[${Object.entries(s.key).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]` : `[=${JSON.stringify(s.value)}]`))
    .join('');

/** The real server's order: appliers first, then by time (seconds), manager, apiVersion, subresource. */
export function sortEntries(entries: ManagedFieldsEntry[]): ManagedFieldsEntry[] {
  const seconds = (e: ManagedFieldsEntry) => (e.time ? Math.floor(Date.parse(e.time) / 1000) : 0);
  const text = (a = '', b = '') => (a < b ? -1 : a > b ? 1 : 0);
  return entries.sort(
    (p, q) => text(p.operation, q.operation) || seconds(p) - seconds(q) || text(p.manager, q.manager) || text(p.apiVersion, q.apiVersion) || text(p.subresource, q.subresource),
  );
}

/** Takes `lost` paths from every entry but `keep`; entries left empty go. */
export function disown(entries: ManagedFieldsEntry[], lost: Path[], keep?: ManagedFieldsEntry): ManagedFieldsEntry[] {
  if (!lost.length) return entries;
  const gone = new Set(lost.map(pathId));
  return entries.flatMap((e) => {
    if (e === keep) return [e];
    const left = decode(e.fieldsV1).filter((p) => !gone.has(pathId(p)));
    return left.length ? [{ ...e, fieldsV1: encode(left) }] : [];
  });
}

export interface UpdateRequest {
  manager: string;
  apiVersion: string;
  now: string;
  subresource?: 'status';
  schema?: Schema;
  /** The struct fields a typed built-in always has (see ResourceType.zero). */
  zero?: Record<string, unknown>;
}

/** `obj` with the zero value's structs under it wherever it has none. */
export function withZero(obj: unknown, zero: unknown): unknown {
  if (!isObject(zero)) return obj;
  if (obj === undefined) return structuredClone(zero);
  if (!isObject(obj)) return obj;
  const out: Record<string, unknown> = { ...obj };
  for (const [k, v] of Object.entries(zero)) out[k] = withZero(obj[k], v);
  return out;
}

/**
 * Records a create, update or patch by `req.manager` in `next.metadata.managedFields` (in place):
 * the manager's Update entry gains the fields it added or changed and loses removed ones;
 * every other manager loses all of these.
 */
export function recordUpdate(old: KubeObject | undefined, next: KubeObject, req: UpdateRequest): void {
  const { added, modified, removed } = compare(withZero(old ?? {}, req.zero), withZero(next, req.zero), objectSchema(req.schema));
  const changed = [...added, ...modified];
  if (!changed.length && !removed.length) return;
  const same = (e: ManagedFieldsEntry) => e.manager === req.manager && e.operation === 'Update' && e.apiVersion === req.apiVersion && e.subresource === req.subresource;
  let entries = structuredClone((next.metadata.managedFields ?? []) as ManagedFieldsEntry[]);
  const mine = entries.find(same);
  entries = disown(entries, [...changed, ...removed], mine);
  const gone = new Set(removed.map(pathId));
  const owned = new Map([...(mine ? decode(mine.fieldsV1) : []), ...changed].map((p) => [pathId(p), p]));
  for (const id of gone) owned.delete(id);
  entries = entries.filter((e) => e !== mine);
  if (owned.size) {
    entries.push({ manager: req.manager, operation: 'Update', apiVersion: req.apiVersion, time: req.now, fieldsType: 'FieldsV1', fieldsV1: encode([...owned.values()]), ...(req.subresource ? { subresource: req.subresource } : {}) });
  }
  if (entries.length) next.metadata.managedFields = sortEntries(entries);
  else delete next.metadata.managedFields;
}

/** The object with its managedFields' times left out, to tell a real change from a no-op. */
export function withoutManagedFieldsTimes(obj: KubeObject): KubeObject {
  const entries = obj.metadata.managedFields as ManagedFieldsEntry[] | undefined;
  if (!entries) return obj;
  return { ...obj, metadata: { ...obj.metadata, managedFields: entries.map(({ time: _time, ...rest }) => rest) } };
}
