/** The walk behind test/api/descriptions.test.ts, shared with the real server's check. */

interface Schema {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
}

/**
 * Paths of the fields under `schema` whose description is missing or blank: properties, array
 * items' properties (`[]`) and map values' properties (`{}`). The root's metadata is the
 * server's ObjectMeta, documented by Kubernetes, and is skipped.
 */
export function fieldsWithoutDescription(schema: Schema, path: string, root = true): string[] {
  const out: string[] = [];
  for (const [name, field] of Object.entries(schema.properties ?? {})) {
    if (root && name === 'metadata') continue;
    const at = `${path}.${name}`;
    if (!field.description?.trim()) out.push(at);
    out.push(...fieldsWithoutDescription(field, at, false));
  }
  if (schema.items) out.push(...fieldsWithoutDescription(schema.items, `${path}[]`, false));
  if (typeof schema.additionalProperties === 'object') out.push(...fieldsWithoutDescription(schema.additionalProperties, `${path}{}`, false));
  return out;
}
