/**
 * Kubernetes label selectors as `kubectl -l` and `--policy-selector` take them:
 * `rack=r1,tier!=test,zone in (a,b),env notin (dev),managed,!legacy`. Parsed once into a
 * predicate; the same text goes to the API server as the informer's labelSelector, so the server
 * and Tide select the same objects — and the embedded API server (src/kube) parses with this
 * very code. Pure.
 */

export type LabelPredicate = (labels: Record<string, string> | undefined) => boolean;

const KEY = '[A-Za-z0-9][-A-Za-z0-9_./]*';
const VALUE = '(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?';

/** Splits on commas outside parentheses (an empty term is kept: `a=b,` does not parse). */
export function selectorTerms(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(current.trim());
      current = '';
    } else current += ch;
  }
  out.push(current.trim());
  return out;
}

function requirement(term: string, whole: string): (labels: Record<string, string>) => boolean {
  const bad = () => new Error(`label selector '${whole}': cannot parse '${term}' (expected key=value, key!=value, key in (a,b), key notin (a,b), key or !key)`);
  let m = new RegExp(`^!\\s*(${KEY})$`).exec(term);
  if (m) return (l) => !(m![1]! in l);
  m = new RegExp(`^(${KEY})\\s+(in|notin)\\s+\\(([^)]*)\\)$`).exec(term);
  if (m) {
    const values = m[3]!.split(',').map((v) => v.trim());
    if (values.some((v) => !new RegExp(`^${VALUE}$`).test(v))) throw bad();
    const key = m[1]!;
    const set = new Set(values);
    return m[2] === 'in' ? (l) => key in l && set.has(l[key]!) : (l) => !(key in l) || !set.has(l[key]!);
  }
  m = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`).exec(term);
  if (m) {
    const [, key, op, value] = m as unknown as [string, string, string, string];
    return op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value;
  }
  m = new RegExp(`^(${KEY})$`).exec(term);
  if (m) return (l) => m![1]! in l;
  throw bad();
}

/** The predicate of `selector`; throws an Error naming the term it cannot read. An empty selector selects everything. */
export function parseLabelSelector(selector: string): LabelPredicate {
  if (selector.trim() === '') return () => true;
  const tests = selectorTerms(selector).map((t) => requirement(t, selector));
  return (labels) => tests.every((test) => test(labels ?? {}));
}

/** The selector's terms in a canonical order (whitespace dropped), so equal selectors name the same Lease. */
export function canonicalSelector(selector: string): string {
  return selectorTerms(selector)
    .map((t) => t.replace(/\s+/g, ' ').replace(/\s*(==|!=|=)\s*/, '$1').replace(/\s*,\s*/g, ','))
    .filter(Boolean)
    .sort()
    .join(',');
}
