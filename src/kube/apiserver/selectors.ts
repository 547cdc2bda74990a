/**
 * Label selectors (`app=web,tier!=db,env in (a,b),!legacy`; parsed by Tide's own
 * src/api/label-selector.ts) and field selectors (`metadata.name=x`, `metadata.namespace!=y`),
 * as predicates on objects; what does not parse is a 400.
 */
import { parseLabelSelector as parseLabels, selectorTerms, type LabelPredicate } from '../../api/label-selector.ts';
import { badRequest } from './status.ts';
import type { KubeObject } from './types.ts';

export type ObjectPredicate = (obj: KubeObject) => boolean;

const matchAll: ObjectPredicate = () => true;

export function parseLabelSelector(text: string | null): ObjectPredicate {
  if (!text) return matchAll;
  let matches: LabelPredicate;
  try {
    matches = parseLabels(text);
  } catch (err) {
    throw badRequest(`unable to parse requirement: ${(err as Error).message}`);
  }
  return (obj) => matches(obj.metadata.labels);
}

const FIELDS: Record<string, (obj: KubeObject) => string> = {
  'metadata.name': (o) => o.metadata.name ?? '',
  'metadata.namespace': (o) => o.metadata.namespace ?? '',
};

export function parseFieldSelector(text: string | null, extraFields: Record<string, (obj: KubeObject) => string> = {}): ObjectPredicate {
  if (!text) return matchAll;
  // A real server skips empty field terms (`metadata.name=x,` selects x).
  const tests = selectorTerms(text).filter((t) => t !== '').map((term): ObjectPredicate => {
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid field selector term "${term}"`);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    const read = FIELDS[field] ?? extraFields[field];
    if (!read) throw badRequest(`field label not supported: ${field}`);
    return op === '!=' ? (o) => read(o) !== value : (o) => read(o) === value;
  });
  return (obj) => tests.every((t) => t(obj));
}

/** Both selectors of a list or watch request. */
export function selectorFromQuery(query: URLSearchParams, extraFields?: Record<string, (obj: KubeObject) => string>): ObjectPredicate {
  const labels = parseLabelSelector(query.get('labelSelector'));
  const fields = parseFieldSelector(query.get('fieldSelector'), extraFields);
  return (obj) => labels(obj) && fields(obj);
}
