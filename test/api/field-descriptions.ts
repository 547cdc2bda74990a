/**
 * The walk behind test/api/descriptions.test.ts, and the check of what a server publishes
 * (`kubectl explain`), shared by the embedded server's (descriptions.test.ts) and the real one's
 * (test/realkube/install-kubectl.test.ts).
 */
import assert from 'node:assert/strict';
import { GROUP, RESOURCES } from '../../src/api/crds.ts';

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

/**
 * Every field of every Tide resource, as the server publishes it (OpenAPI v3, what `kubectl
 * explain` reads), has a description, and the walk covers every field `kubectl explain
 * --recursive` shows. `kubectl` runs against the server with Tide's CRDs installed.
 */
export async function assertExplainedFieldsDescribed(kubectl: (args: string[]) => Promise<string>): Promise<void> {
  const published = JSON.parse(await kubectl(['get', '--raw', `/openapi/v3/apis/${GROUP}/v1alpha1`])).components.schemas;
  for (const def of RESOURCES) {
    const schema = published[`dev.tide.v1alpha1.${def.kind}`];
    assert.ok(schema, `${def.kind} is published`);
    assert.deepEqual(fieldsWithoutDescription(schema, def.kind), [], `${def.kind}: fields without a description on the server`);
    const fields = explainedFields(await kubectl(['explain', def.plural, '--recursive']), def.kind);
    for (const field of fields) assert.ok(describedAt(schema, field), `${field}: kubectl explain shows it, the walk found no description`);
    assert.ok(fields.length > 10, `${def.kind}: ${fields.length} fields`);
  }
  const port = await kubectl(['explain', 'ph.spec.ssh.port']);
  assert.match(port, /DESCRIPTION:\s+SSH port\./);
}

/** Field paths of `kubectl explain --recursive` (two spaces of indent per level), without metadata's. */
function explainedFields(text: string, kind: string): string[] {
  const lines = text.slice(text.indexOf('FIELDS:')).split('\n').slice(1);
  const stack: string[] = [];
  const out: string[] = [];
  for (const line of lines) {
    const m = /^( +)(\w+)\t?\s*</.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 2 - 1;
    stack.length = depth;
    stack.push(m[2]!);
    if (stack[0] !== 'metadata') out.push(`${kind}.${stack.join('.')}`);
  }
  return out;
}

/** Does the field at `path` (Kind.a.b, arrays stepped through) carry a description in `schema`? */
function describedAt(schema: any, path: string): boolean {
  let node = schema;
  for (const name of path.split('.').slice(1)) {
    if (node.type === 'array') node = node.items;
    node = node?.properties?.[name];
    if (!node) return false;
  }
  return Boolean(node.description?.trim());
}
