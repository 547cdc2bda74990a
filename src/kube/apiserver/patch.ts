/**
 * PATCH bodies by content type: JSON merge patch (RFC 7386), JSON patch (RFC 6902, with
 * fast-json-patch), and for built-in resources the part of strategic merge patch kubectl apply
 * and edit produce. Custom resources refuse strategic merge patch with 415, as a real server does.
 * Server-side apply has a file of its own (server-side-apply.ts).
 */
import fastJsonPatch from 'fast-json-patch';
import { badRequest, unsupportedMediaType, ApiError } from './status.ts';
import type { KubeObject, ResourceType } from './types.ts';

const { applyPatch, validate: validateJsonPatch } = fastJsonPatch;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7386: objects merge key by key, null deletes, everything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/**
 * Strategic merge patch, as far as built-in resources here need it: merge-patch semantics with
 * the `$patch`, `$retainKeys` and `$setElementOrder/…` directives understood. Lists are replaced
 * whole (none of the served built-ins has a list with a merge key that clients patch).
 */
export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch);
  if (patch.$patch === 'replace') return strip(patch);
  if (patch.$patch === 'delete') return undefined;
  const result: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  const retain = Array.isArray(patch.$retainKeys) ? new Set(patch.$retainKeys as string[]) : undefined;
  if (retain) for (const key of Object.keys(result)) if (!retain.has(key)) delete result[key];
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) continue;
    if (value === null) delete result[key];
    else {
      const merged = strategicMergePatch(result[key], value);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    }
  }
  return result;
}

function strip(obj: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([k]) => !k.startsWith('$')));
}

export type PatchKind = 'merge' | 'json' | 'strategic' | 'apply';

export function patchKindOf(contentType: string | undefined): PatchKind {
  const type = (contentType ?? '').split(';')[0]!.trim();
  switch (type) {
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/json-patch+json':
      return 'json';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    case 'application/apply-patch+yaml':
    case 'application/apply-patch+cbor':
      return 'apply';
    default:
      throw unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
  }
}

/** Applies a PATCH body to the current object; returns the patched copy. */
export function applyPatchBody(resource: ResourceType, current: KubeObject, kind: PatchKind, body: unknown): KubeObject {
  switch (kind) {
    case 'merge':
      if (!isPlainObject(body)) throw badRequest('merge patch body must be a JSON object');
      return mergePatch(current, body) as KubeObject;
    case 'strategic':
      if (resource.custom) {
        throw unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
      }
      if (!isPlainObject(body)) throw badRequest('strategic merge patch body must be a JSON object');
      return strategicMergePatch(current, body) as KubeObject;
    case 'json': {
      if (!Array.isArray(body)) throw badRequest('json patch body must be a JSON array of operations');
      // The real server says no more than this about a JSON patch that does not apply.
      const rejected = () => new ApiError(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
      // Both inside the try: fast-json-patch's validation itself throws a TypeError for a `move`
      // or `copy` from a path under a missing parent (found by test/fuzz/apiserver.test.ts).
      try {
        if (validateJsonPatch(body as any, current)) throw rejected();
        return applyPatch(structuredClone(current), body as any, false, true).newDocument as KubeObject;
      } catch {
        throw rejected();
      }
    }
    case 'apply':
      throw new Error('server-side apply is handled by the router, not as a patch');
  }
}
