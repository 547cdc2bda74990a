/**
 * /openapi/v3: what kubectl needs before it will apply. It downloads the group/version document,
 * looks for the resource's PATCH operation (tagged with x-kubernetes-group-version-kind) and,
 * finding a `fieldValidation` parameter there, leaves unknown-field checks to the server.
 * Custom resources carry their CRD schema, so `kubectl explain` works too.
 *
 * /openapi/v2: what kubectl falls back to for what no v3 document describes — a `kind: List`
 * file (`kubectl apply -f`) is validated item by item against it, client-side. The real server
 * serves every definition there; this one serves none, so kubectl skips that client-side pass
 * and each item is still checked by the server, which kubectl asks for `fieldValidation=Strict`
 * item by item. kubectl asks for the protobuf encoding only (gnostic's openapi_v2.Document).
 */
import { createHash } from 'node:crypto';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
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

const SWAGGER_INFO = { title: 'Kubernetes', version: 'v1.32.0' };

/** The Swagger 2.0 document, as JSON (for clients that ask for it). */
export function swaggerDocument() {
  return { swagger: '2.0', info: SWAGGER_INFO, paths: {}, definitions: {} };
}

/** The same document as gnostic's openapi_v2.Document: swagger = 1, info = 2 (title = 1, version = 2). */
export function swaggerProtobuf(): Uint8Array {
  const info = new BinaryWriter().tag(1, WireType.LengthDelimited).string(SWAGGER_INFO.title).tag(2, WireType.LengthDelimited).string(SWAGGER_INFO.version).finish();
  return new BinaryWriter().tag(1, WireType.LengthDelimited).string('2.0').tag(2, WireType.LengthDelimited).bytes(info).finish();
}

const SWAGGER_PROTOBUF = 'com.github.proto-openapi.spec.v2.v1.0+protobuf';
/** What kubectl asks for; Go's mime parser refuses the '@' in an answer's Content-Type. */
const SWAGGER_PROTOBUF_DEPRECATED = 'com.github.proto-openapi.spec.v2@v1.0+protobuf';

/**
 * /openapi/v2 as kube-openapi's handler negotiates it: the first Accept clause by quality that
 * names JSON or the protobuf encoding (either spelling, or a wildcard) wins; none: undefined (406).
 */
export function negotiateSwagger(accept: string | undefined): { contentType: string; body: Uint8Array } | undefined {
  const clauses = (accept || '*/*').split(',').map((clause, i) => {
    const [type = '', ...params] = clause.trim().split(';').map((x) => x.trim());
    const q = Number(params.find((p) => p.startsWith('q='))?.slice(2) ?? 1);
    const [main = '', sub = ''] = type.split('/');
    return { main, sub, q: Number.isNaN(q) ? 0 : q, i };
  }).filter((c) => c.q > 0).sort((a, b) => b.q - a.q || a.i - b.i);
  for (const { main, sub } of clauses) {
    if (main !== 'application' && main !== '*') continue;
    if (sub === 'json' || sub === '*') return { contentType: 'application/json', body: Buffer.from(JSON.stringify(swaggerDocument())) };
    if (sub === SWAGGER_PROTOBUF || sub === SWAGGER_PROTOBUF_DEPRECATED) return { contentType: `application/${SWAGGER_PROTOBUF}`, body: swaggerProtobuf() };
  }
  return undefined;
}
