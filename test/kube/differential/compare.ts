/**
 * Comparing two servers' answers: what differs by nature (uids, resourceVersions, timestamps,
 * generated names) is replaced by placeholders, then the two answers are walked together and
 * every path where they differ is reported.
 */

const UID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
const SERVER_SET = new Set(['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp']);

/** The answer with what legitimately differs between two runs replaced by placeholders. */
export function normalise(value: unknown, key = ''): unknown {
  // managedFields are ordered by time in seconds first: entries written in the same steps may fall either side of a second.
  if (key === 'managedFields' && Array.isArray(value)) return sortEntries(value).map((v) => normalise(v));
  if (Array.isArray(value)) return value.map((v) => normalise(v));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalise(v, k)]));
  }
  if (typeof value !== 'string') return value;
  if (SERVER_SET.has(key) && value !== '') return `<${key}>`;
  if (key === 'continue' && value !== '') return '<continue>';
  if (TIMESTAMP.test(value)) return '<time>';
  if (key === 'name' && /^gen-[a-z0-9]{5}$/.test(value)) return 'gen-<random>';
  return value
    .replace(UID, '<uid>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>')
    .replace(/(resourceVersion\\*":\\*")\d+/g, '$1<rv>')
    .replace(/\bgen-[a-z0-9]{5}\b/g, 'gen-<random>')
    .replace(/too old resource version: (\d+) \(\d+\)/g, 'too old resource version: $1 (<rv>)')
    .replace(/ResourceVersion in record \(\d+\)/g, 'ResourceVersion in record (<rv>)');
}

const sortEntries = (entries: any[]) =>
  [...entries].sort((a, b) => `${a.operation}/${a.manager}/${a.subresource ?? ''}`.localeCompare(`${b.operation}/${b.manager}/${b.subresource ?? ''}`));

export interface Difference {
  /** Dotted path in the answer: `code`, `body.metadata.managedFields`, `events[1].object.spec`. */
  path: string;
  embedded: unknown;
  real: unknown;
}

/** Every path where two normalised answers differ (a whole subtree counts once where one side lacks it). */
export function differences(embedded: unknown, real: unknown, path = ''): Difference[] {
  if (JSON.stringify(embedded) === JSON.stringify(real)) return [];
  const bothObjects = typeof embedded === 'object' && embedded !== null && typeof real === 'object' && real !== null;
  if (!bothObjects || Array.isArray(embedded) !== Array.isArray(real)) return [{ path, embedded, real }];
  if (Array.isArray(embedded) && Array.isArray(real)) {
    if (embedded.length !== real.length) return [{ path, embedded, real }];
    return embedded.flatMap((e, i) => differences(e, real[i], `${path}[${i}]`));
  }
  const a = embedded as Record<string, unknown>;
  const b = real as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.flatMap((k) => differences(a[k], b[k], path ? `${path}.${k}` : k));
}
