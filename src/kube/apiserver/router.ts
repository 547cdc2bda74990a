/**
 * The HTTP front: bearer-token check, discovery and OpenAPI documents, and the REST verbs on
 * resources, answering failures with Kubernetes Status bodies.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { describeRequest, forbiddenRequest, type Authorizer, type ResourceRequest } from './access.ts';
import { coreVersions, group, groupList, KUBERNETES_VERSION, resourceList } from './discovery.ts';
import { groupVersionDocument, negotiateSwagger, openapiRoot } from './openapi.ts';
import type { FieldValidation, Operations, WriteOptions } from './operations.ts';
import { applyPatchBody, patchKindOf } from './patch.ts';
import type { ResourceRegistry } from './registry.ts';
import { decodeProtobufBody } from './protobuf.ts';
import { parseApplyBody, serverSideApply } from './server-side-apply.ts';
import { page } from './paging.ts';
import { parseResourcePath, type ResourcePath } from './request-path.ts';
import { selectorFromQuery } from './selectors.ts';
import { ApiError, badRequest, methodNotAllowed, notFound, unsupportedMediaType } from './status.ts';
import type { ObjectStore } from './store.ts';
import { toTable, wantsTable } from './tables.ts';
import { apiVersionOf, type KubeObject, type ResourceType } from './types.ts';
import { serveWatch, type WatchSettings } from './watch.ts';

export interface RouterContext {
  token: string;
  serverAddress: () => string;
  registry: ResourceRegistry;
  store: ObjectStore;
  ops: Operations;
  watch: WatchSettings;
  /** Open watches, ended by closeWatches() and stop(). */
  watches: Set<() => void>;
  /** Every resource request, in order (bounded). */
  requests: ResourceRequest[];
  authorize?: Authorizer;
}

const MAX_RECORDED_REQUESTS = 10_000;

const MAX_BODY_BYTES = 8 * 1024 * 1024;
const OPEN_PATHS = new Set(['/healthz', '/livez', '/readyz', '/version']);

function pageNotFound(res: ServerResponse): void {
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
  res.end('404 page not found\n');
}

/** What a DELETE answers once the object is gone: a Status, as the real server does for all but namespaces. */
function deletedStatus(r: ResourceType, obj: KubeObject): Record<string, unknown> {
  const details = Object.fromEntries(Object.entries({ name: obj.metadata.name, group: r.group, kind: r.plural, uid: obj.metadata.uid }).filter(([, v]) => v));
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details };
}

/** Whether a DELETE left the object in place (held by finalizers, or a namespace being emptied). */
const stillThere = (r: ResourceType, obj: KubeObject) => (r.group === '' && r.plural === 'namespaces') || (obj.metadata.finalizers ?? []).length > 0;

function sendJson(res: ServerResponse, code: number, body: unknown, warnings: string[] = []): void {
  const text = JSON.stringify(body);
  const headers: Record<string, string | string[]> = { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) };
  if (warnings.length) headers.Warning = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
  res.writeHead(code, headers);
  res.end(text);
}

/** /openapi/v2 in the encoding asked for (kubectl asks for protobuf only), 406 for none it has. */
function sendSwagger(registry: ResourceRegistry, req: IncomingMessage, res: ServerResponse): void {
  const answer = negotiateSwagger(registry, req.headers.accept);
  if (!answer) {
    res.writeHead(406, { Vary: 'Accept', 'Content-Length': '0' });
    return void res.end();
  }
  res.writeHead(200, { 'Content-Type': answer.contentType, 'Content-Length': String(answer.body.byteLength), Vary: 'Accept' });
  res.end(answer.body);
}

async function readRaw(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ApiError(413, 'RequestEntityTooLarge', 'request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const contentType = req.headers['content-type'] ?? '';
  if (/cbor/.test(contentType)) throw unsupportedMediaType('the body of the request was in an unknown format - accepted media types include: application/json, application/vnd.kubernetes.protobuf');
  const raw = await readRaw(req);
  // kubectl's typed clients (kubectl create namespace/secret/configmap, auth can-i) send protobuf.
  if (/protobuf/.test(contentType)) return decodeProtobufBody(raw);
  const text = raw.toString('utf8');
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(`the request body is not valid JSON: ${(err as Error).message}`);
  }
}

function authorized(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? '';
  const sent = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
  const expected = Buffer.from(token);
  return sent.length === expected.length && timingSafeEqual(sent, expected);
}

function writeOptions(query: URLSearchParams, req: IncomingMessage): WriteOptions {
  const fieldValidation = (query.get('fieldValidation') ?? 'Warn') as FieldValidation;
  if (!['Strict', 'Warn', 'Ignore'].includes(fieldValidation)) throw badRequest(`fieldValidation must be one of Ignore, Warn, Strict, not "${fieldValidation}"`);
  // As a real server names an Update manager: the fieldManager parameter, else the User-Agent up to its first '/'.
  const manager = query.get('fieldManager') || (req.headers['user-agent'] ?? '').split('/')[0]!;
  return { fieldValidation, dryRun: query.getAll('dryRun').includes('All'), warnings: [], manager };
}

export function createRouter(ctx: RouterContext) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      await route(ctx, req, res);
    } catch (err) {
      const apiError = err instanceof ApiError ? err : new ApiError(500, 'InternalError', `internal error: ${(err as Error).message}`);
      if (!(err instanceof ApiError)) console.error('tide apiserver: internal error', err);
      if (res.headersSent) res.end();
      else sendJson(res, apiError.code, apiError.toStatus());
    }
  };
}

async function route(ctx: RouterContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://apiserver.invalid');
  const path = url.pathname.replace(/\/+$/, '') || '/';
  if (path === '/version') return sendJson(res, 200, KUBERNETES_VERSION);
  if (OPEN_PATHS.has(path)) {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
    return void res.end('ok');
  }
  if (!authorized(req, ctx.token)) {
    return sendJson(res, 401, new ApiError(401, 'Unauthorized', 'Unauthorized').toStatus());
  }
  if (path === '/openapi/v2') return sendSwagger(ctx.registry, req, res);
  const discovery = discoveryDocument(ctx, path);
  if (discovery !== undefined) {
    if (discovery === null) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    return sendJson(res, 200, discovery);
  }
  const target = parseResourcePath(path);
  const resource = target && ctx.registry.find(target.group, target.version, target.plural);
  // No resource there: the real server's mux answers in plain text, not with a Status.
  if (!target || !resource) return pageNotFound(res);
  await handleResource(ctx, req, res, url.searchParams, target, resource);
}

/** undefined: not a discovery path; null: a discovery path for something that does not exist. */
function discoveryDocument(ctx: RouterContext, path: string): unknown {
  const { registry } = ctx;
  if (path === '/api') return coreVersions(ctx.serverAddress());
  if (path === '/apis') return groupList(registry);
  if (path === '/openapi/v3') return openapiRoot(registry);
  let m = /^\/openapi\/v3\/(?:api\/([^/]+)|apis\/([^/]+)\/([^/]+))$/.exec(path);
  if (m) return (m[1] ? groupVersionDocument(registry, '', m[1]) : groupVersionDocument(registry, m[2]!, m[3]!)) ?? null;
  if (path.startsWith('/openapi/')) return null;
  m = /^\/api\/([^/]+)$/.exec(path);
  if (m) return resourceList(registry, '', m[1]!) ?? null;
  m = /^\/apis\/([^/]+)$/.exec(path);
  if (m) return group(registry, m[1]!) ?? null;
  m = /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
  if (m) return resourceList(registry, m[1]!, m[2]!) ?? null;
  return undefined;
}

async function handleResource(ctx: RouterContext, req: IncomingMessage, res: ServerResponse, query: URLSearchParams, t: ResourcePath, r: ResourceType): Promise<void> {
  const { ops } = ctx;
  const namespace = r.namespaced ? t.namespace : undefined;
  if (t.namespace && !r.namespaced) return pageNotFound(res);
  // A subresource the resource does not have: the real server answers as for a missing object.
  if (t.subresource && !(t.subresource === 'status' && r.statusSubresource)) throw notFound(r, t.name ?? '');
  const subresource = t.subresource === 'status' ? 'status' : undefined;
  const method = req.method ?? 'GET';
  const asTable = wantsTable(req.headers.accept);
  // Any user may ask what they may do (system:basic-user on a real cluster): not itself authorized.
  if (r.review) {
    if (method !== 'POST' || t.name) throw methodNotAllowed('review resources can only be created');
    const body = (await readBody(req)) as KubeObject;
    return sendJson(res, 201, { ...r.review(body, ctx.authorize ?? (() => true)), apiVersion: apiVersionOf(r), kind: r.kind });
  }
  const watching = method === 'GET' && (t.watchPrefix || query.get('watch') === 'true' || query.get('watch') === '1');
  const access = describeRequest(method, t, r, watching);
  ctx.requests.push(access);
  if (ctx.requests.length > MAX_RECORDED_REQUESTS) ctx.requests.shift();
  if (ctx.authorize && !ctx.authorize(access)) throw forbiddenRequest(access);
  const namespaceRequired = () => {
    if (r.namespaced && !namespace) throw badRequest(`${r.plural}.${r.group} is namespaced: the request needs a namespace`);
  };

  if (watching) {
    const selected = selectorFromQuery(query, r.fieldLabels);
    // A watch on one object's URL watches that object only.
    const matches = t.name ? (o: KubeObject) => o.metadata.name === t.name && selected(o) : selected;
    const end = serveWatch(res, { resource: r, namespace, matches, query, asTable }, ctx.store, ops, ctx.watch);
    ctx.watches.add(end);
    res.on('close', () => ctx.watches.delete(end));
    return;
  }
  if (method === 'GET' && t.name) {
    namespaceRequired();
    const obj = ops.get(r, namespace, t.name);
    return sendJson(res, 200, asTable ? toTable(r.columns, [obj], { resourceVersion: obj.metadata.resourceVersion }, query.get('includeObject')) : obj);
  }
  if (method === 'GET') {
    const listed = ops.list(r, namespace, selectorFromQuery(query, r.fieldLabels));
    const { items, ...metadata } = page(listed.items, listed.resourceVersion, query, !namespace);
    if (asTable) return sendJson(res, 200, toTable(r.columns, items, metadata, query.get('includeObject')));
    return sendJson(res, 200, listOf(r, metadata, items));
  }
  const opts = writeOptions(query, req);
  if (method === 'POST' && !t.name) {
    namespaceRequired();
    const created = ops.create(r, namespace, (await readBody(req)) as KubeObject, opts);
    return sendJson(res, 201, created, opts.warnings);
  }
  if (method === 'PUT' && t.name) {
    namespaceRequired();
    return sendJson(res, 200, ops.update(r, namespace, t.name, (await readBody(req)) as KubeObject, subresource, opts), opts.warnings);
  }
  if (method === 'PATCH' && t.name) {
    namespaceRequired();
    const kind = patchKindOf(req.headers['content-type']);
    if (kind === 'apply') return apply(ctx, req, res, query, t, r, namespace, opts);
    const body = await readBody(req);
    const current = ops.get(r, namespace, t.name);
    const patched = ops.checkPatched(r, t.name, applyPatchBody(r, current, kind, body));
    return sendJson(res, 200, ops.write(r, current, patched, subresource, { ...opts, patched: structuredClone(patched) }), opts.warnings);
  }
  if (method === 'DELETE' && t.name) {
    namespaceRequired();
    const options = ((await readBody(req)) ?? {}) as { preconditions?: { resourceVersion?: string; uid?: string } };
    const result = ops.delete(r, namespace, t.name, options.preconditions, opts.dryRun);
    return sendJson(res, 200, stillThere(r, result) ? result : deletedStatus(r, result));
  }
  if (method === 'DELETE') {
    const { items, resourceVersion } = ops.list(r, namespace, selectorFromQuery(query, r.fieldLabels));
    const deleted = items.map((o) => ops.delete(r, o.metadata.namespace, o.metadata.name!, undefined, opts.dryRun));
    return sendJson(res, 200, listOf(r, { resourceVersion }, deleted));
  }
  throw methodNotAllowed(`the server does not allow this method on the requested resource`);
}

/** A list body; a custom resource's list carries an empty continue, as the real server's unstructured lists do. */
function listOf(r: ResourceType, metadata: Record<string, unknown>, items: KubeObject[]): Record<string, unknown> {
  return { kind: r.listKind, apiVersion: apiVersionOf(r), metadata: r.custom ? { continue: '', ...metadata } : metadata, items };
}

/** PATCH application/apply-patch+yaml: server-side apply (see server-side-apply.ts); creates if absent. */
async function apply(ctx: RouterContext, req: IncomingMessage, res: ServerResponse, query: URLSearchParams, t: ResourcePath, r: ResourceType, namespace: string | undefined, opts: WriteOptions): Promise<void> {
  const manager = query.get('fieldManager');
  if (!manager) {
    throw new ApiError(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch', {
      kind: 'PatchOptions',
      group: 'meta.k8s.io',
      causes: [{ reason: 'FieldValueRequired', field: 'fieldManager', message: 'Required value: is required for apply patch' }],
    });
  }
  const applied = parseApplyBody((await readRaw(req)).toString('utf8'));
  const bodyName = applied.metadata.name;
  applied.metadata.name = t.name;
  const live = ctx.ops.find(r, namespace, t.name!);
  const subresource = t.subresource === 'status' ? 'status' : undefined;
  const merged = serverSideApply(live, applied, {
    subresource,
    manager,
    force: query.get('force') === 'true',
    apiVersion: apiVersionOf(r),
    schema: r.openapiSchema,
    now: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
  });
  // The real server finds conflicts before it compares names.
  if (bodyName && bodyName !== t.name) throw badRequest(`the name of the object (${bodyName}) does not match the name on the URL (${t.name})`);
  // The apply entry is recorded above; no Update entry besides it.
  const applyOpts = { ...opts, manager: undefined };
  if (!live) return sendJson(res, 201, ctx.ops.create(r, namespace, merged, applyOpts), opts.warnings);
  return sendJson(res, 200, ctx.ops.write(r, live, merged, subresource, applyOpts), opts.warnings);
}
