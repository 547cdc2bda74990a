/**
 * `x-kubernetes-list-type` checks: items of a `set` are unique, and so are the key fields of a
 * `map` list (Conditions by `type`, for instance) — a real server rejects duplicates.
 */
import { fieldError, type StatusCause } from '../status.ts';
import { childPath, fieldSchema, type Schema } from './schema-walk.ts';

export function listTypeCauses(schema: Schema, value: unknown, path = ''): StatusCause[] {
  const causes: StatusCause[] = [];
  walk(schema, value, path, causes);
  return causes;
}

function walk(schema: Schema, value: unknown, path: string, causes: StatusCause[]): void {
  if (Array.isArray(value)) {
    const listType = schema['x-kubernetes-list-type'];
    const keys: string[] = schema['x-kubernetes-list-map-keys'] ?? [];
    if (listType === 'set' || (listType === 'map' && keys.length)) {
      const seen = new Set<string>();
      value.forEach((item, i) => {
        const identity = listType === 'set' ? item : Object.fromEntries(keys.map((k) => [k, (item as Record<string, unknown>)?.[k]]));
        const id = JSON.stringify(identity);
        if (seen.has(id)) causes.push(fieldError.duplicate(childPath(path, i), identity));
        seen.add(id);
      });
    }
    if (schema.items) value.forEach((item, i) => walk(schema.items, item, childPath(path, i), causes));
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const childSchema = fieldSchema(schema, key);
    if (childSchema && !(path === '' && key === 'metadata')) walk(childSchema, child, childPath(path, key), causes);
  }
}
