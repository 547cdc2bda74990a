/**
 * Schema checks of a custom resource with ajv, reporting each failure as the real API server's
 * field error does (`spec.x: Invalid value: 150: spec.x in body should be less than or equal to 100`).
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { fieldError, type StatusCause } from '../status.ts';
import type { Schema } from './schema-walk.ts';

const ajv = new Ajv({ allErrors: true, strict: false, logger: false });
(addFormats as unknown as (a: Ajv) => void)(ajv);

/** OpenAPI v3.0 (Kubernetes dialect) → the JSON Schema ajv speaks. */
function toJsonSchema(schema: Schema, root = true): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith('x-kubernetes-') || key === 'default' || key === 'example' || key === 'description') continue;
    if (key === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, Schema>)
          .filter(([name]) => !(root && name === 'metadata'))
          .map(([name, child]) => [name, toJsonSchema(child, false)]),
      );
    } else if (key === 'items' || key === 'additionalProperties' || key === 'not') {
      out[key] = typeof value === 'object' ? toJsonSchema(value, false) : value;
    } else if (key === 'allOf' || key === 'anyOf' || key === 'oneOf') {
      out[key] = (value as Schema[]).map((s) => toJsonSchema(s, false));
    } else out[key] = value;
  }
  // OpenAPI 3.0 spells exclusive bounds as a boolean beside the bound.
  if (schema.exclusiveMaximum === true) [out.exclusiveMaximum, out.maximum] = [schema.maximum, undefined];
  if (schema.exclusiveMinimum === true) [out.exclusiveMinimum, out.minimum] = [schema.minimum, undefined];
  if (schema.exclusiveMaximum === false) delete out.exclusiveMaximum;
  if (schema.exclusiveMinimum === false) delete out.exclusiveMinimum;
  if (schema['x-kubernetes-int-or-string'] === true) out.type = ['integer', 'string'];
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}

export function compileSchema(schema: Schema): ValidateFunction {
  return ajv.compile(toJsonSchema(schema));
}

/** `/spec/hosts/0/name` → `spec.hosts[0].name`. */
function fieldPathOf(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, seg) => (/^\d+$/.test(seg) ? `${path}[${seg}]` : path ? `${path}.${seg}` : seg), '');
}

const jsonType = (v: unknown) =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v;

function valueAt(root: unknown, instancePath: string): unknown {
  return instancePath
    .split('/')
    .slice(1)
    .reduce<any>((v, seg) => (v == null ? undefined : v[seg.replace(/~1/g, '/').replace(/~0/g, '~')]), root);
}

function causeOf(err: ErrorObject, root: unknown): StatusCause | undefined {
  const field = fieldPathOf(err.instancePath);
  const value = valueAt(root, err.instancePath);
  const p = err.params as Record<string, any>;
  const inBody = `${field} in body`;
  switch (err.keyword) {
    case 'required':
      return fieldError.required(field ? `${field}.${p.missingProperty}` : p.missingProperty);
    case 'type':
      return fieldError.typeInvalid(field, jsonType(value), `${inBody} must be of type ${[p.type].flat().join('/')}: "${jsonType(value)}"`);
    case 'enum':
      return fieldError.notSupported(field, value, p.allowedValues);
    case 'maximum':
      return fieldError.invalid(field, value, `${inBody} should be less than or equal to ${p.limit}`);
    case 'minimum':
      return fieldError.invalid(field, value, `${inBody} should be greater than or equal to ${p.limit}`);
    case 'exclusiveMaximum':
      return fieldError.invalid(field, value, `${inBody} should be less than ${p.limit}`);
    case 'exclusiveMinimum':
      return fieldError.invalid(field, value, `${inBody} should be greater than ${p.limit}`);
    case 'multipleOf':
      return fieldError.invalid(field, value, `${inBody} should be a multiple of ${p.multipleOf}`);
    case 'pattern':
      return fieldError.invalid(field, value, `${inBody} should match '${p.pattern}'`);
    case 'format':
      return fieldError.invalid(field, value, `${inBody} must be of type ${p.format}: ${JSON.stringify(value)}`);
    case 'minLength':
      return fieldError.invalid(field, value, `${inBody} should be at least ${p.limit} chars long`);
    case 'maxLength':
      return fieldError.tooLong(field, p.limit);
    case 'minItems':
      return fieldError.invalid(field, (value as unknown[]).length, `${inBody} should have at least ${p.limit} items`);
    case 'maxItems':
      return fieldError.tooMany(field, (value as unknown[]).length, p.limit);
    case 'minProperties':
      return fieldError.invalid(field, Object.keys(value as object).length, `${inBody} should have at least ${p.limit} properties`);
    case 'maxProperties':
      return fieldError.tooMany(field, Object.keys(value as object).length, p.limit);
    case 'uniqueItems':
      return fieldError.duplicate(`${field}[${p.j}]`, (value as unknown[])[p.j]);
    // anyOf/oneOf report their branches' errors too; the summary line adds nothing.
    case 'anyOf':
    case 'oneOf':
    case 'if':
      return undefined;
    default:
      return fieldError.invalid(field, value, `${inBody} ${err.message ?? 'is invalid'}`);
  }
}

export function schemaCauses(validate: ValidateFunction, obj: unknown): StatusCause[] {
  if (validate(obj)) return [];
  const causes = (validate.errors ?? []).map((e) => causeOf(e, obj)).filter((c): c is StatusCause => c !== undefined);
  const seen = new Set<string>();
  return causes.filter((c) => {
    const key = `${c.field}|${c.message}`;
    return !seen.has(key) && seen.add(key);
  });
}
