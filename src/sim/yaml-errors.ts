/**
 * Parses YAML (or JSON, which is YAML) against a JSON schema and reports the first problem as
 * file:line:column, field and what is wrong — the yaml package keeps every node's offset, and
 * ajv says which field failed, so the two together point at the exact spot in the file.
 */
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { ErrorObject, ValidateFunction } from 'ajv';

export type FieldPath = (string | number)[];
/** Throws the error made by `makeError` with "file:line:col: field message". */
export type Fail = (path: FieldPath, message: string, key?: string) => never;

export function parseChecked<T>(text: string, file: string, validate: ValidateFunction, makeError: (message: string) => Error): { data: T; fail: Fail } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const where = (offset: number | undefined) => {
    if (offset === undefined) return file;
    const { line, col } = lines.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  if (doc.errors.length) {
    const err = doc.errors[0];
    throw makeError(`${where(err.pos[0])}: invalid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${err.message.split('\n')[0]}`);
  }
  const fail: Fail = (path, message, key) => {
    throw makeError(`${where(offsetOf(doc, path, key))}: ${fieldName(path, key)} ${message}`);
  };
  let data: unknown;
  try {
    // toJS() refuses a document whose aliases would expand without bound ("billion laughs").
    data = doc.toJS();
  } catch (err) {
    throw makeError(`${file}: invalid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  if (!validate(data)) {
    const error = validate.errors![0];
    const path = pathOf(error);
    if (error.keyword === 'required') fail(path, `is missing required field ${String(error.params.missingProperty)}`);
    if (error.keyword === 'additionalProperties') fail(path, 'is not a known field', String(error.params.additionalProperty));
    fail(path, error.message ?? 'is invalid');
  }
  return { data: data as T, fail };
}

/** "/hosts/1/cpuCores" → ["hosts", 1, "cpuCores"]. */
function pathOf(error: ErrorObject): FieldPath {
  return error.instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

/** ["hosts", 1, "power"] + "idleWatts" → "hosts[1].power.idleWatts". */
function fieldName(path: FieldPath, key?: string): string {
  const full = key === undefined ? path : [...path, key];
  if (full.length === 0) return 'the document';
  return full.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

type Ranged = { range?: [number, number, number] | null };

/** Where the field at `path` (or its key `key`) starts in the text, else its nearest parent. */
function offsetOf(doc: Document, path: FieldPath, key?: string): number | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = (depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true)) as Ranged | null | undefined;
    if (!node || typeof node !== 'object') continue;
    if (key !== undefined && depth === path.length && isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && item.key.value === key);
      const range = (pair?.key as Ranged | undefined)?.range;
      if (range) return range[0];
    }
    if (node.range) return node.range[0];
  }
  return undefined;
}
