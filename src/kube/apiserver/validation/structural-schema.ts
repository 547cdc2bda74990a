/**
 * The checks a real API server makes on a CRD's openAPIV3Schema before accepting it: OpenAPI
 * v3.0 keyword types (exclusiveMinimum is a boolean there, not a number as in later JSON Schema
 * drafts), and the "structural schema" rules (a type on every node, items on arrays, not both
 * properties and additionalProperties). A schema failing them is rejected with the field named.
 */
import { fieldError, type StatusCause } from '../status.ts';
import type { Schema } from './schema-walk.ts';

const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);
const BOOLEAN_KEYWORDS = ['exclusiveMinimum', 'exclusiveMaximum', 'nullable', 'uniqueItems', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string', 'x-kubernetes-embedded-resource'];
const NUMBER_KEYWORDS = ['minimum', 'maximum', 'multipleOf'];
const COUNT_KEYWORDS = ['minLength', 'maxLength', 'minItems', 'maxItems', 'minProperties', 'maxProperties'];

export function structuralCauses(schema: Schema, path: string): StatusCause[] {
  const causes: StatusCause[] = [];
  check(schema, path, causes, true);
  return causes;
}

function hasType(value: unknown, type: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    default:
      return true;
  }
}

function check(s: Schema, path: string, causes: StatusCause[], root: boolean): void {
  if (typeof s !== 'object' || s === null || Array.isArray(s)) {
    causes.push(fieldError.invalid(path, s, 'must be a schema object'));
    return;
  }
  for (const key of BOOLEAN_KEYWORDS) {
    if (key in s && typeof s[key] !== 'boolean') {
      const hint = key.startsWith('exclusive') ? ` (OpenAPI v3.0 has ${key}: true beside ${key === 'exclusiveMinimum' ? 'minimum' : 'maximum'}, not a number)` : '';
      causes.push(fieldError.invalid(`${path}.${key}`, s[key], `must be a boolean${hint}`));
    }
  }
  for (const key of NUMBER_KEYWORDS) if (key in s && typeof s[key] !== 'number') causes.push(fieldError.invalid(`${path}.${key}`, s[key], 'must be a number'));
  for (const key of COUNT_KEYWORDS) if (key in s && !(Number.isInteger(s[key]) && s[key] >= 0)) causes.push(fieldError.invalid(`${path}.${key}`, s[key], 'must be a non-negative integer'));
  if (s.exclusiveMinimum === true && s.minimum === undefined) causes.push(fieldError.required(`${path}.minimum`, 'exclusiveMinimum needs minimum'));
  if (s.exclusiveMaximum === true && s.maximum === undefined) causes.push(fieldError.required(`${path}.maximum`, 'exclusiveMaximum needs maximum'));
  const untyped = s['x-kubernetes-int-or-string'] === true || (s['x-kubernetes-preserve-unknown-fields'] === true && s.type === undefined);
  if (s.type === undefined && !untyped) causes.push(fieldError.required(`${path}.type`, 'must not be empty for specified object fields'));
  else if (s.type !== undefined && !TYPES.has(s.type)) causes.push(fieldError.notSupported(`${path}.type`, s.type, [...TYPES]));
  if (s.type === 'array' && !s.items) causes.push(fieldError.required(`${path}.items`, 'must be specified'));
  if (s.properties && s.additionalProperties !== undefined && s.additionalProperties !== false) {
    causes.push(fieldError.forbidden(`${path}.additionalProperties`, 'additionalProperties and properties are mutual exclusive'));
  }
  if (s.required !== undefined && !(Array.isArray(s.required) && s.required.every((r: unknown) => typeof r === 'string'))) {
    causes.push(fieldError.invalid(`${path}.required`, s.required, 'must be a list of property names'));
  }
  // kubectl reads manifests as YAML 1.1, where an unquoted On/Off/yes/no is a boolean: an enum or
  // default of the wrong type is how that shows, and such a value could never be stored.
  (Array.isArray(s.enum) ? s.enum : []).forEach((v: unknown, i: number) => {
    if (!hasType(v, s.type)) causes.push(fieldError.invalid(`${path}.enum[${i}]`, v, `must be of type ${s.type}`));
  });
  if ('default' in s && !hasType(s.default, s.type)) causes.push(fieldError.invalid(`${path}.default`, s.default, `must be of type ${s.type}`));
  if (root && s.type !== undefined && s.type !== 'object') causes.push(fieldError.invalid(`${path}.type`, s.type, 'must be object at the root'));
  for (const [name, child] of Object.entries<Schema>(s.properties ?? {})) check(child, `${path}.properties[${name}]`, causes, false);
  if (s.items) check(s.items, `${path}.items`, causes, false);
  if (typeof s.additionalProperties === 'object') check(s.additionalProperties, `${path}.additionalProperties`, causes, false);
}
