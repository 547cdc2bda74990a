/**
 * Walks an object alongside its structural OpenAPI v3 schema (as a CRD declares it), the way the
 * real API server prepares a custom resource before validating it: nulls in non-nullable fields
 * dropped, unknown fields pruned (and reported, for fieldValidation), defaults applied.
 */

export type Schema = Record<string, any>;

/** Path of a child in the dotted form field errors use: `spec.hosts[2].name`. */
export const childPath = (path: string, key: string | number) =>
  typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The schema of an object's field: a declared property, else the map's value schema. */
export function fieldSchema(schema: Schema | undefined, key: string): Schema | undefined {
  return schema?.properties?.[key] ?? (isObject(schema?.additionalProperties) ? schema!.additionalProperties : undefined);
}

/** Fields every object has whatever its schema says (the API server handles metadata itself). */
const ROOT_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

/** Prunes unknown fields and applies defaults in place; returns the pruned fields' paths. */
export function pruneAndDefault(schema: Schema, value: unknown, path = ''): string[] {
  const pruned: string[] = [];
  walk(schema, value, path, pruned);
  return pruned;
}

function walk(schema: Schema, value: unknown, path: string, pruned: string[]): void {
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((item, i) => walk(schema.items, item, childPath(path, i), pruned));
    return;
  }
  if (!isObject(value)) return;
  const properties: Record<string, Schema> | undefined = schema.properties;
  const embedded = schema['x-kubernetes-embedded-resource'] === true || path === '';
  const keepUnknown = schema['x-kubernetes-preserve-unknown-fields'] === true;
  for (const key of Object.keys(value)) {
    const child = fieldSchema(schema, key);
    if (embedded && ROOT_FIELDS.has(key) && !properties?.[key]) continue;
    if (!child) {
      if (!keepUnknown) {
        delete value[key];
        pruned.push(childPath(path, key));
      }
      continue;
    }
    if (value[key] === null && child.nullable !== true) delete value[key];
  }
  for (const [key, child] of Object.entries(properties ?? {})) {
    if (value[key] === undefined && child.default !== undefined) value[key] = structuredClone(child.default);
  }
  for (const [key, child] of Object.entries(value)) {
    const childSchema = fieldSchema(schema, key);
    if (childSchema && !(path === '' && key === 'metadata')) walk(childSchema, child, childPath(path, key), pruned);
  }
}
