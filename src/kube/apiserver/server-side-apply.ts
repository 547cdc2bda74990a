/**
 * Server-side apply, simplified: each field manager owns the fields of the configuration it last
 * applied (kept in metadata.managedFields, FieldsV1 like a real server writes it). Applying
 * merges the configuration into the live object (maps by key, `x-kubernetes-list-type: map`
 * lists by their keys, other lists whole), removes fields the manager applied before but no
 * longer does, and answers 409 when another applier owns a field with a different value
 * (unless force=true, which takes the field over). Fields written by update or patch are not
 * tracked: they never conflict and are not removed.
 */
import { isDeepStrictEqual } from 'node:util';
import { parse } from 'yaml';
import { ApiError, badRequest } from './status.ts';
import { fieldSchema, type Schema } from './validation/schema-walk.ts';
import type { KubeObject } from './types.ts';

type Segment = string | { key: Record<string, unknown> };
type Path = Segment[];

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);
const mapKeys = (schema: Schema | undefined): string[] | undefined =>
  schema?.['x-kubernetes-list-type'] === 'map' ? schema['x-kubernetes-list-map-keys'] : undefined;
const pick = (item: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, item[k]]));
const pathId = (path: Path) => JSON.stringify(path);
const SERVER_FIELDS = new Set(['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields']);

/** The leaf fields a configuration sets (apiVersion, kind and name excluded). */
function leaves(value: unknown, schema: Schema | undefined, path: Path, out: Path[]): void {
  if (isObject(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) {
      if (path.length === 0 && (k === 'apiVersion' || k === 'kind')) continue;
      if (path.length === 1 && path[0] === 'metadata' && (k === 'name' || k === 'namespace' || SERVER_FIELDS.has(k))) continue;
      leaves(v, fieldSchema(schema, k), [...path, k], out);
    }
    return;
  }
  const keys = mapKeys(schema);
  if (Array.isArray(value) && keys) {
    // A keyed item is owned as a member (its key fields with it), plus whatever else it sets.
    for (const item of value.filter(isObject)) {
      const member: Path = [...path, { key: pick(item, keys) }];
      out.push(member);
      const rest = Object.fromEntries(Object.entries(item).filter(([k]) => !keys.includes(k)));
      if (Object.keys(rest).length) leaves(rest, schema!.items, member, out);
    }
    return;
  }
  if (path.length) out.push(path);
}

function getAt(obj: unknown, path: Path): unknown {
  let v: any = obj;
  for (const seg of path) {
    if (v == null) return undefined;
    v = typeof seg === 'string' ? v[seg] : Array.isArray(v) ? v.find((item) => isObject(item) && isDeepStrictEqual(pick(item, Object.keys(seg.key)), seg.key)) : undefined;
  }
  return v;
}

/** Deletes a field (or a keyed list item), then parents left empty by it unless `keep` holds them. */
function removeAt(obj: Record<string, any>, path: Path, keep: Set<string>): void {
  const parents: any[] = [obj];
  let v: any = obj;
  for (const seg of path.slice(0, -1)) {
    v = getAt(v, [seg]);
    if (v == null) return;
    parents.push(v);
  }
  const last = path[path.length - 1]!;
  const parent = parents[parents.length - 1];
  if (typeof last === 'string') delete parent[last];
  else if (Array.isArray(parent)) {
    const i = parent.findIndex((item: unknown) => isObject(item) && isDeepStrictEqual(pick(item, Object.keys(last.key)), last.key));
    if (i >= 0) parent.splice(i, 1);
  }
  for (let i = parents.length - 1; i > 0; i--) {
    const p = parents[i];
    const empty = Array.isArray(p) ? p.length === 0 : Object.keys(p).length === 0;
    if (!empty || keep.has(pathId(path.slice(0, i)))) break;
    removeAt(obj, path.slice(0, i), keep);
  }
}

function merge(live: unknown, applied: unknown, schema: Schema | undefined): unknown {
  if (isObject(applied) && isObject(live)) {
    const out: Record<string, unknown> = { ...live };
    for (const [k, v] of Object.entries(applied)) out[k] = merge(live[k], v, fieldSchema(schema, k));
    return out;
  }
  const keys = mapKeys(schema);
  if (keys && Array.isArray(applied) && Array.isArray(live)) {
    const out = [...live];
    for (const item of applied) {
      const i = out.findIndex((x) => isObject(x) && isObject(item) && isDeepStrictEqual(pick(x, keys), pick(item, keys)));
      if (i >= 0) out[i] = merge(out[i], item, schema!.items);
      else out.push(item);
    }
    return out;
  }
  return structuredClone(applied);
}

/** FieldsV1 as a real server writes it: `{"f:spec":{"f:size":{}}}`, list items as `k:{"type":"Ready"}`. */
function encode(paths: Path[]): Record<string, unknown> {
  const root: Record<string, any> = {};
  for (const path of paths) {
    let node = root;
    for (const seg of path) node = node[typeof seg === 'string' ? `f:${seg}` : `k:${JSON.stringify(seg.key)}`] ??= {};
    if (isMember(path)) node['.'] = {};
  }
  return root;
}

function decode(fields: Record<string, any>, path: Path = [], out: Path[] = []): Path[] {
  const entries = Object.entries(fields).filter(([k]) => k !== '.');
  if ((entries.length === 0 || '.' in fields) && path.length) out.push(path);
  for (const [k, v] of entries) {
    const seg: Segment = k.startsWith('k:') ? { key: JSON.parse(k.slice(2)) } : k.slice(2);
    decode(v ?? {}, [...path, seg], out);
  }
  return out;
}

/** A keyed list item's own path (membership), as opposed to a field. */
const isMember = (path: Path) => typeof path[path.length - 1] === 'object';

const dotted = (path: Path) => path.map((s) => (typeof s === 'string' ? `.${s}` : `[${Object.entries(s.key).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`)).join('');

export interface ApplyRequest {
  manager: string;
  force: boolean;
  apiVersion: string;
  /** Where to look for list-type map keys; built-ins have none (their lists are atomic). */
  schema?: Schema;
  now: string;
  /** Applies to /status are recorded apart (as a real server does), so they never drop spec fields. */
  subresource?: 'status';
}

/** Parses an apply body (YAML, of which JSON is a subset). */
export function parseApplyBody(text: string): KubeObject {
  let obj: unknown;
  try {
    obj = parse(text, { version: '1.1' });
  } catch (err) {
    throw badRequest(`error decoding YAML: ${(err as Error).message}`);
  }
  if (!isObject(obj)) throw badRequest('an apply patch must be an object');
  return { ...obj, metadata: isObject(obj.metadata) ? obj.metadata : {} } as KubeObject;
}

/** The object after `applied` is applied over `live` (absent for a create), with managedFields updated. */
export function serverSideApply(live: KubeObject | undefined, applied: KubeObject, req: ApplyRequest): KubeObject {
  const entries: any[] = live?.metadata.managedFields ? structuredClone(live.metadata.managedFields as any[]) : [];
  const owned = (e: any) => (e.operation === 'Apply' && e.fieldsV1 ? decode(e.fieldsV1) : []);
  const mine = entries.find((e) => e.manager === req.manager && e.operation === 'Apply' && e.subresource === req.subresource);
  const previous = mine ? owned(mine) : [];
  const next: Path[] = [];
  leaves(applied, req.schema, [], next);
  const nextIds = new Set(next.map(pathId));
  // A field the new configuration sets, or sets something beneath, stays.
  const kept = new Set(next.flatMap((p) => p.map((_, i) => pathId(p.slice(0, i + 1)))));

  const conflicts: string[] = [];
  for (const other of entries.filter((e) => e !== mine && e.operation === 'Apply')) {
    const theirs = owned(other);
    const contested = theirs.filter((p) => !isMember(p) && nextIds.has(pathId(p)) && !isDeepStrictEqual(getAt(live, p), getAt(applied, p)));
    if (contested.length && !req.force) conflicts.push(...contested.map((p) => `conflict with "${other.manager}" using ${other.apiVersion}: ${dotted(p)}`));
    if (contested.length && req.force) {
      const lost = new Set(contested.map(pathId));
      other.fieldsV1 = encode(theirs.filter((p) => !lost.has(pathId(p))));
    }
  }
  if (conflicts.length) {
    throw new ApiError(409, 'Conflict', `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${conflicts.join('\n')}`);
  }

  const body = { ...applied, metadata: Object.fromEntries(Object.entries(applied.metadata).filter(([k]) => !SERVER_FIELDS.has(k))) };
  const merged = (live ? merge(live, body, req.schema) : structuredClone(body)) as KubeObject;
  const ownedByOthers = new Set(entries.filter((e) => e !== mine).flatMap(owned).map(pathId));
  for (const p of previous) if (!kept.has(pathId(p)) && !ownedByOthers.has(pathId(p))) removeAt(merged, p, kept);

  const entry = { manager: req.manager, operation: 'Apply', apiVersion: req.apiVersion, time: req.now, fieldsType: 'FieldsV1', fieldsV1: encode(next), ...(req.subresource ? { subresource: req.subresource } : {}) };
  merged.metadata.managedFields = [...entries.filter((e) => e !== mine && !(e.operation === 'Apply' && Object.keys(e.fieldsV1 ?? {}).length === 0)), entry];
  return merged;
}
