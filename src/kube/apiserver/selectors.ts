/**
 * Label selectors (`app=web,tier!=db,env in (a,b),!legacy`) and field selectors
 * (`metadata.name=x`, `metadata.namespace!=y`), parsed into predicates.
 */
import { badRequest } from './status.ts';
import type { KubeObject } from './types.ts';

export type ObjectPredicate = (obj: KubeObject) => boolean;

const matchAll: ObjectPredicate = () => true;

/** Splits on commas that are not inside parentheses. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim()) terms.push(current.trim());
  return terms;
}

type LabelTest = (labels: Record<string, string>) => boolean;

function parseLabelTerm(term: string): LabelTest {
  let m = /^!\s*([\w./-]+)$/.exec(term);
  if (m) {
    const key = m[1]!;
    return (l) => !(key in l);
  }
  m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (m) {
    const [, key, op, list] = m as unknown as [string, string, string, string];
    const values = new Set(list.split(',').map((v) => v.trim()).filter(Boolean));
    return op === 'in' ? (l) => key in l && values.has(l[key]!) : (l) => !(key in l) || !values.has(l[key]!);
  }
  m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(term);
  if (m) {
    const [, key, op, value] = m as unknown as [string, string, string, string];
    return op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value;
  }
  m = /^([\w./-]+)$/.exec(term);
  if (m) {
    const key = m[1]!;
    return (l) => key in l;
  }
  throw badRequest(`unable to parse requirement: invalid label selector term "${term}"`);
}

export function parseLabelSelector(text: string | null): ObjectPredicate {
  if (!text) return matchAll;
  const tests = splitTerms(text).map(parseLabelTerm);
  return (obj) => tests.every((t) => t(obj.metadata.labels ?? {}));
}

const FIELDS: Record<string, (obj: KubeObject) => string> = {
  'metadata.name': (o) => o.metadata.name ?? '',
  'metadata.namespace': (o) => o.metadata.namespace ?? '',
};

export function parseFieldSelector(text: string | null, extraFields: Record<string, (obj: KubeObject) => string> = {}): ObjectPredicate {
  if (!text) return matchAll;
  const tests = splitTerms(text).map((term): ObjectPredicate => {
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
