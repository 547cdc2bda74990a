/**
 * Field-level shape of built-in Kubernetes objects, for the kinds the embedded API server does
 * not serve (Deployment, Service, RBAC, …). The schema is derived from @kubernetes/client-node's
 * generated models (one per OpenAPI definition of the real API), so an unknown or misspelt
 * field, or a value of the wrong type, is caught as a real server's fieldValidation=Strict
 * would catch it. Required fields and semantic rules (e.g. a valid port range) are not.
 */
import * as k8s from '@kubernetes/client-node';
import { Ajv, type ValidateFunction } from 'ajv';
import type { K8sObject } from './render.ts';

interface Attribute {
  baseName: string;
  type: string;
  format: string;
}
type Model = { getAttributeTypeMap(): Attribute[] };
type Schema = Record<string, unknown>;

const models = k8s as unknown as Record<string, Model | undefined>;

function modelSchemas(root: string): Schema {
  const definitions: Record<string, Schema> = {};
  const schemaOf = (type: string, format: string): Schema => {
    const array = /^Array<(.+)>$/.exec(type);
    if (array) return { type: 'array', items: schemaOf(array[1]!, '') };
    const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
    if (map) return { type: 'object', additionalProperties: schemaOf(map[1]!, '') };
    switch (type) {
      case 'string':
      case 'Date':
        return { type: 'string' };
      case 'number':
        return format.startsWith('int') ? { type: 'integer' } : { type: 'number' };
      case 'boolean':
        return { type: 'boolean' };
      case 'IntOrString':
        return { type: ['integer', 'string'] };
      case 'any':
      case 'object':
        return {};
    }
    define(type);
    return { $ref: `#/definitions/${type}` };
  };
  const define = (name: string) => {
    if (definitions[name]) return;
    const model = models[name];
    if (!model?.getAttributeTypeMap) throw new Error(`@kubernetes/client-node has no model ${name}`);
    definitions[name] = {}; // placeholder: models are recursive (JSONSchemaProps)
    const properties: Record<string, Schema> = {};
    for (const a of model.getAttributeTypeMap()) properties[a.baseName] = schemaOf(a.type, a.format);
    definitions[name] = { type: 'object', properties, additionalProperties: false };
  };
  define(root);
  return { $ref: `#/definitions/${root}`, definitions };
}

/** client-node's model name for an object: V1 + Deployment for apps/v1, V1 + PodDisruptionBudget for policy/v1, … */
export const modelName = (o: Pick<K8sObject, 'apiVersion' | 'kind'>): string => {
  const version = o.apiVersion.split('/').at(-1)!;
  return `${version[0]!.toUpperCase()}${version.slice(1)}${o.kind}`;
};

export const hasModel = (o: Pick<K8sObject, 'apiVersion' | 'kind'>): boolean => !!models[modelName(o)]?.getAttributeTypeMap;

const ajv = new Ajv({ allErrors: true, strict: false });
const validators = new Map<string, ValidateFunction>();

/** Problems with `o`'s fields, as "Kind/name: /path message" lines; none when its shape is valid. */
export function shapeProblems(o: K8sObject): string[] {
  const name = modelName(o);
  let validate = validators.get(name);
  if (!validate) {
    validate = ajv.compile(modelSchemas(name));
    validators.set(name, validate);
  }
  const label = `${o.kind}/${o.metadata.name}`;
  if (validate(o)) return [];
  return validate.errors!.map((e) => {
    const extra = e.keyword === 'additionalProperties' ? ` '${(e.params as { additionalProperty: string }).additionalProperty}'` : '';
    return `${label}: ${e.instancePath || '/'} ${e.message}${extra}`;
  });
}
