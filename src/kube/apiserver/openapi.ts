/**
 * /openapi/v3: what kubectl needs before it will apply. It downloads the group/version document,
 * looks for the resource's PATCH operation (tagged with x-kubernetes-group-version-kind) and,
 * finding a `fieldValidation` parameter there, leaves unknown-field checks to the server.
 * Custom resources carry their CRD schema, so `kubectl explain` works too.
 *
 * /openapi/v2: what kubectl falls back to for what no v3 document describes — a `kind: List`
 * file (`kubectl apply -f`) is validated item by item against it, client-side, before any item
 * is applied. The real server serves every definition there; this one the custom resources'
 * (kubectl skips a kind it finds no definition for: the server still checks it, kubectl asking
 * for `fieldValidation=Strict` item by item). kubectl asks for the protobuf encoding only
 * (gnostic's openapi_v2.Document).
 */
import { createHash } from 'node:crypto';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { KUBERNETES_VERSION } from './discovery.ts';
import type { ResourceRegistry } from './registry.ts';
import type { ResourceType } from './types.ts';

const pathKey = (group: string, version: string) => (group ? `apis/${group}/${version}` : `api/${version}`);

/** Schema names as the real server writes them: `dev.tide.v1alpha1.PhysicalHost`. */
const schemaName = (r: ResourceType) =>
  r.group ? `${r.group.split('.').reverse().join('.')}.${r.version}.${r.kind}` : `io.k8s.api.core.${r.version}.${r.kind}`;

const queryParam = (name: string, description: string) => ({ name, in: 'query', description, schema: { type: 'string', uniqueItems: true } });

function operations(r: ResourceType) {
  const gvk = { group: r.group, version: r.version, kind: r.kind };
  const ref = { $ref: `#/components/schemas/${schemaName(r)}` };
  const ok = { '200': { description: 'OK', content: { 'application/json': { schema: ref } } } };
  const op = (action: string, extra: Record<string, unknown> = {}) => ({
    operationId: `${action}${r.kind}`,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
    responses: ok,
    ...extra,
  });
  const writeParams = [queryParam('dryRun', 'When present, do not persist'), queryParam('fieldManager', 'Actor making the change'), queryParam('fieldValidation', 'Ignore, Warn or Strict: how to treat unknown fields')];
  const patchBody = {
    requestBody: {
      content: Object.fromEntries(
        ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml', ...(r.custom ? [] : ['application/strategic-merge-patch+json'])].map((t) => [t, { schema: { type: 'object' } }]),
      ),
    },
  };
  return {
    get: op('get'),
    put: op('put', { parameters: writeParams, requestBody: { content: { 'application/json': { schema: ref } } } }),
    patch: op('patch', { parameters: [...writeParams, queryParam('force', 'Force apply')], ...patchBody }),
    delete: op('delete'),
  };
}

function componentSchema(r: ResourceType) {
  const gvk = [{ group: r.group, version: r.version, kind: r.kind }];
  const schema = r.openapiSchema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  const properties = {
    apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
    kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
    metadata: { type: 'object', description: "Standard object's metadata." },
    ...((schema as { properties?: object }).properties ?? {}),
  };
  return { ...schema, properties, 'x-kubernetes-group-version-kind': gvk };
}

export function groupVersionDocument(registry: ResourceRegistry, group: string, version: string) {
  const resources = registry.inGroupVersion(group, version);
  if (resources.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  for (const r of resources) {
    const base = `/${pathKey(group, version)}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.plural}/{name}`;
    paths[base] = operations(r);
    if (r.statusSubresource) paths[`${base}/status`] = operations(r);
    // Built-ins keep kubectl's own schema knowledge (strategic merge metadata); only CRs describe theirs.
    if (r.custom) schemas[schemaName(r)] = componentSchema(r);
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths, components: { schemas } };
}

const hashOf = (doc: unknown) => createHash('sha512').update(JSON.stringify(doc)).digest('hex').slice(0, 64).toUpperCase();

export function openapiRoot(registry: ResourceRegistry) {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const { group, versions } of registry.groups()) {
    for (const version of versions) {
      const key = pathKey(group, version);
      paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hashOf(groupVersionDocument(registry, group, version))}` };
    }
  }
  return { paths };
}

/** As the real server's: its version without the build suffix (v1.32.0). */
const SWAGGER_INFO = { title: 'Kubernetes', version: KUBERNETES_VERSION.gitVersion.replace(/-.*$/, '') };

type V2Schema = {
  description?: string;
  type?: string;
  format?: string;
  required?: string[];
  properties?: Record<string, V2Schema>;
  items?: V2Schema;
  additionalProperties?: V2Schema;
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[];
};

/**
 * A CRD schema node as the real server publishes it in v2, the part kubectl's validator reads
 * (types, properties, items, maps, required): what v2 cannot say — nullable, int-or-string,
 * preserved unknown fields — is published with no type, which kubectl takes as anything.
 */
function toV2(node: Record<string, any> | undefined): V2Schema {
  const out: V2Schema = typeof node?.description === 'string' ? { description: node.description } : {};
  if (!node || node.nullable || node['x-kubernetes-int-or-string'] || node['x-kubernetes-preserve-unknown-fields']) return out;
  switch (node.type) {
    case 'object':
      if (node.properties) {
        out.properties = Object.fromEntries(Object.entries(node.properties).map(([k, v]) => [k, toV2(v as Record<string, any>)]));
        if (Array.isArray(node.required) && node.required.length) out.required = node.required;
      } else if (node.additionalProperties && typeof node.additionalProperties === 'object') out.additionalProperties = toV2(node.additionalProperties);
      return { ...out, type: 'object' };
    case 'array':
      return node.items ? { ...out, type: 'array', items: toV2(node.items) } : out;
    case 'string': case 'number': case 'integer': case 'boolean':
      return { ...out, type: node.type, ...(typeof node.format === 'string' ? { format: node.format } : {}) };
    default:
      return out;
  }
}

/** The v2 definitions: one per custom resource (built-ins have no schema here: kubectl skips them). */
function v2Definitions(registry: ResourceRegistry): Record<string, V2Schema> {
  const definitions: Record<string, V2Schema> = {};
  for (const r of registry.all().filter((x) => x.custom && x.openapiSchema)) {
    const top = toV2(r.openapiSchema);
    if (top.properties) {
      // metadata as anything: the real server refers to ObjectMeta, which this one does not describe.
      top.properties = { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: {}, ...top.properties };
    }
    definitions[schemaName(r)] = { ...top, 'x-kubernetes-group-version-kind': [{ group: r.group, version: r.version, kind: r.kind }] };
  }
  return definitions;
}

/** The Swagger 2.0 document, as JSON (for clients that ask for it). */
export function swaggerDocument(registry: ResourceRegistry) {
  return { swagger: '2.0', info: SWAGGER_INFO, paths: {}, definitions: v2Definitions(registry) };
}

const LEN = WireType.LengthDelimited;
const message = (build: (w: BinaryWriter) => void): Uint8Array => {
  const w = new BinaryWriter();
  build(w);
  return w.finish();
};
/** Maps of named schemas (Definitions, Properties): repeated NamedSchema { name = 1, value = 2 } at field 1. */
const namedSchemas = (entries: Record<string, V2Schema>) =>
  message((w) => {
    for (const [name, value] of Object.entries(entries)) w.tag(1, LEN).bytes(message((n) => n.tag(1, LEN).string(name).tag(2, LEN).bytes(encodeSchema(value))));
  });

/** gnostic's openapi_v2.Schema, the fields V2Schema has. */
function encodeSchema(s: V2Schema): Uint8Array {
  return message((w) => {
    if (s.format) w.tag(2, LEN).string(s.format);
    if (s.description) w.tag(4, LEN).string(s.description);
    for (const name of s.required ?? []) w.tag(19, LEN).string(name);
    if (s.additionalProperties) w.tag(21, LEN).bytes(message((a) => a.tag(1, LEN).bytes(encodeSchema(s.additionalProperties!))));
    if (s.type) w.tag(22, LEN).bytes(message((t) => t.tag(1, LEN).string(s.type!)));
    if (s.items) w.tag(23, LEN).bytes(message((i) => i.tag(1, LEN).bytes(encodeSchema(s.items!))));
    if (s.properties) w.tag(25, LEN).bytes(namedSchemas(s.properties));
    const gvk = s['x-kubernetes-group-version-kind'];
    // A vendor extension: NamedAny { name = 1, value = Any { yaml = 2 } } (JSON is YAML).
    if (gvk) w.tag(31, LEN).bytes(message((n) => n.tag(1, LEN).string('x-kubernetes-group-version-kind').tag(2, LEN).bytes(message((a) => a.tag(2, LEN).string(JSON.stringify(gvk))))));
  });
}

/** The same document as gnostic's openapi_v2.Document: swagger = 1, info = 2 (title = 1, version = 2), definitions = 9. */
export function swaggerProtobuf(registry: ResourceRegistry): Uint8Array {
  const doc = swaggerDocument(registry);
  return message((w) => {
    w.tag(1, LEN).string(doc.swagger);
    w.tag(2, LEN).bytes(message((i) => i.tag(1, LEN).string(SWAGGER_INFO.title).tag(2, LEN).string(SWAGGER_INFO.version)));
    w.tag(9, LEN).bytes(namedSchemas(doc.definitions));
  });
}

const SWAGGER_PROTOBUF = 'com.github.proto-openapi.spec.v2.v1.0+protobuf';
/** What kubectl asks for; Go's mime parser refuses the '@' in an answer's Content-Type. */
const SWAGGER_PROTOBUF_DEPRECATED = 'com.github.proto-openapi.spec.v2@v1.0+protobuf';

/**
 * /openapi/v2 as kube-openapi's handler negotiates it: the first Accept clause by quality that
 * names JSON or the protobuf encoding (either spelling, or a wildcard) wins; none: undefined (406).
 */
export function negotiateSwagger(registry: ResourceRegistry, accept: string | undefined): { contentType: string; body: Uint8Array } | undefined {
  const clauses = (accept || '*/*').split(',').map((clause, i) => {
    const [type = '', ...params] = clause.trim().split(';').map((x) => x.trim());
    const q = Number(params.find((p) => p.startsWith('q='))?.slice(2) ?? 1);
    const [main = '', sub = ''] = type.split('/');
    return { main, sub, q: Number.isNaN(q) ? 0 : q, i };
  }).filter((c) => c.q > 0).sort((a, b) => b.q - a.q || a.i - b.i);
  for (const { main, sub } of clauses) {
    if (main !== 'application' && main !== '*') continue;
    if (sub === 'json' || sub === '*') return { contentType: 'application/json', body: Buffer.from(JSON.stringify(swaggerDocument(registry))) };
    if (sub === SWAGGER_PROTOBUF || sub === SWAGGER_PROTOBUF_DEPRECATED) return { contentType: `application/${SWAGGER_PROTOBUF}`, body: swaggerProtobuf(registry) };
  }
  return undefined;
}
