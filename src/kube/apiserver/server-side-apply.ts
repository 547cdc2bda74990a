/**
 * Server-side apply, as structured-merge-diff does it: each applier owns the fields of the
 * configuration it last applied (metadata.managedFields, see managed-fields.ts). Applying merges
 * the configuration into the live object (maps by key, `x-kubernetes-list-type: map` lists by
 * their keys, set lists by value, other lists whole), removes what the manager applied before but
 * no longer does and nobody else owns, and answers 409 when the result changes a field another
 * manager owns — an applier or an updater (kubectl patch, edit, client-node writes) — unless
 * force=true, which takes the field over.
 */
import { isDeepStrictEqual } from 'node:util';
import { parse } from 'yaml';
import { compare, decode, disown, dotted, encode, fieldSet, isObject, mapKeys, objectSchema, pathId, pick, sortEntries, type ManagedFieldsEntry, type Path } from './managed-fields.ts';
import { ApiError, badRequest } from './status.ts';
import { fieldSchema, type Schema } from './validation/schema-walk.ts';
import type { KubeObject } from './types.ts';

const SERVER_FIELDS = new Set(['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields']);

function getAt(obj: unknown, path: Path): unknown {
  let v: any = obj;
  for (const seg of path) {
    if (v == null) return undefined;
    v = typeof seg === 'string' ? v[seg] : Array.isArray(v) ? v.find((item) => matches(item, seg)) : undefined;
  }
  return v;
}

const matches = (item: unknown, seg: Exclude<Path[number], string>) =>
  'key' in seg ? isObject(item) && isDeepStrictEqual(pick(item, Object.keys(seg.key)), seg.key) : isDeepStrictEqual(item, seg.value);

/** Deletes a field (or a list item), then parents left empty by it unless `keep` holds them. */
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
    const i = parent.findIndex((item: unknown) => matches(item, last));
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
  if (schema?.['x-kubernetes-list-type'] === 'set' && Array.isArray(applied) && Array.isArray(live)) {
    return [...live, ...applied.filter((item) => !live.some((x) => isDeepStrictEqual(x, item)))];
  }
  return structuredClone(applied);
}

export interface ApplyRequest {
  manager: string;
  force: boolean;
  apiVersion: string;
  /** Where to look for list types; built-ins have none here (their lists are atomic). */
  schema?: Schema;
  now: string;
  /** Applies to /status are recorded apart (as a real server does), so they never drop spec fields. */
  subresource?: 'status';
}

/** Parses an apply body (YAML, of which JSON is a subset). */
export function parseApplyBody(text: string): KubeObject {
  let obj: unknown;
  try {
    // logLevel 'error': a client's odd YAML (an unknown `%` directive) is its error, answered
    // as a 400 below, not a warning on the server's console.
    obj = parse(text, { version: '1.1', logLevel: 'error' });
  } catch (err) {
    throw badRequest(`error decoding YAML: ${(err as Error).message}`);
  }
  if (!isObject(obj)) throw badRequest('an apply patch must be an object');
  return { ...obj, metadata: isObject(obj.metadata) ? obj.metadata : {} } as KubeObject;
}

/** How a real server names a manager in a conflict: updaters with the API version they wrote. */
function managerName(e: ManagedFieldsEntry): string {
  const name = `"${e.manager}"${e.subresource ? ` with subresource "${e.subresource}"` : ''}`;
  return e.operation === 'Update' ? `${name} using ${e.apiVersion}` : name;
}

function conflictError(conflicts: { entry: ManagedFieldsEntry; path: Path }[]): ApiError {
  const causes = conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${managerName(c.entry)}`, field: dotted(c.path) }));
  if (conflicts.length === 1) {
    return new ApiError(409, 'Conflict', `Apply failed with 1 conflict: conflict with ${managerName(conflicts[0]!.entry)}: ${dotted(conflicts[0]!.path)}`, { causes });
  }
  const byManager = new Map<string, string[]>();
  for (const c of conflicts) byManager.set(managerName(c.entry), [...(byManager.get(managerName(c.entry)) ?? []), dotted(c.path)]);
  const lines = [...byManager.keys()].sort().flatMap((m) => [`conflicts with ${m}:`, ...byManager.get(m)!.map((p) => `- ${p}`)]);
  return new ApiError(409, 'Conflict', `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`, { causes });
}

/** The object after `applied` is applied over `live` (absent for a create), with managedFields updated. */
export function serverSideApply(live: KubeObject | undefined, applied: KubeObject, req: ApplyRequest): KubeObject {
  const schema = objectSchema(req.schema);
  let entries: ManagedFieldsEntry[] = live?.metadata.managedFields ? structuredClone(live.metadata.managedFields as ManagedFieldsEntry[]) : [];
  const mine = entries.find((e) => e.manager === req.manager && e.operation === 'Apply' && e.subresource === req.subresource);
  const others = entries.filter((e) => e !== mine);
  const body = { ...applied, metadata: Object.fromEntries(Object.entries(applied.metadata).filter(([k]) => !SERVER_FIELDS.has(k))) };
  const next = fieldSet(body, schema);
  // A field the new configuration sets, or sets something beneath, stays.
  const kept = new Set(next.flatMap((p) => p.map((_, i) => pathId(p.slice(0, i + 1)))));

  const merged = (live ? merge(live, body, schema) : structuredClone(body)) as KubeObject;
  const ownedByOthers = new Set(others.flatMap((e) => decode(e.fieldsV1)).map(pathId));
  for (const p of mine ? decode(mine.fieldsV1) : []) if (!kept.has(pathId(p)) && !ownedByOthers.has(pathId(p))) removeAt(merged, p, kept);

  // Any change to a field another manager owns is theirs to give up: a conflict unless forced.
  const { added, modified, removed } = compare(live ?? {}, merged, schema);
  const changed = new Set([...added, ...modified].map(pathId));
  const conflicts = others.flatMap((entry) => decode(entry.fieldsV1).filter((p) => changed.has(pathId(p))).map((path) => ({ entry, path })));
  if (conflicts.length && !req.force) throw conflictError(conflicts);
  entries = disown(others, [...added, ...modified, ...removed]);

  if (next.length) {
    entries.push({ manager: req.manager, operation: 'Apply', apiVersion: req.apiVersion, time: req.now, fieldsType: 'FieldsV1', fieldsV1: encode(next), ...(req.subresource ? { subresource: req.subresource } : {}) });
  }
  merged.metadata = { ...merged.metadata, managedFields: sortEntries(entries) };
  if (!entries.length) delete merged.metadata.managedFields;
  return merged;
}
