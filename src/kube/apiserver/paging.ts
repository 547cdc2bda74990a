/**
 * Paged lists (`limit` and `continue`), as the real server pages them: items in key order
 * (namespace, then name), a continue token naming where the next page starts, and
 * remainingItemCount when no selector filters the list (only then is the count known).
 * The token is opaque to clients; here it carries the list's resourceVersion and start key as
 * the real one does, though the next page is read from the current state, not a snapshot.
 */
import { badRequest } from './status.ts';
import type { KubeObject } from './types.ts';

export interface Page {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

const keyOf = (o: KubeObject, clusterWide: boolean) => (clusterWide && o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name!);

export function page(items: KubeObject[], resourceVersion: string, query: URLSearchParams, clusterWide: boolean): Page {
  const limit = Number(query.get('limit') ?? 0);
  if (!Number.isInteger(limit) || limit < 0) throw badRequest(`invalid limit: ${query.get('limit')}`);
  const token = query.get('continue');
  let rest = items;
  let rv = resourceVersion;
  if (token) {
    let start: string;
    try {
      const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
      if (parsed.v !== 'meta.k8s.io/v1' || typeof parsed.start !== 'string') throw new Error('unknown version');
      start = parsed.start;
      rv = String(parsed.rv);
    } catch {
      throw badRequest('invalid continue token: continue key is not valid: it cannot be decoded');
    }
    rest = items.filter((o) => keyOf(o, clusterWide) >= start);
  }
  if (!limit || rest.length <= limit) return { items: rest, resourceVersion: rv };
  const shown = rest.slice(0, limit);
  const start = `${keyOf(shown[shown.length - 1]!, clusterWide)}\u0000`;
  const filtered = query.has('labelSelector') || query.has('fieldSelector');
  return {
    items: shown,
    resourceVersion: rv,
    // Unpadded base64url, as the real server encodes it.
    continue: Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: Number(rv), start })).toString('base64url'),
    ...(filtered ? {} : { remainingItemCount: rest.length - limit }),
  };
}
