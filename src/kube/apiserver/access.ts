/**
 * Who asked for what: each resource request described as RBAC sees it (verb, API group,
 * resource[/subresource], namespace, name), recorded for tests and checked against an optional
 * authorizer, so an operator's least-privilege rules can be held to what it really sends.
 */
import { ApiError } from './status.ts';
import type { ResourcePath } from './request-path.ts';
import type { ResourceType } from './types.ts';

export interface ResourceRequest {
  verb: 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';
  group: string;
  version: string;
  /** `physicalhosts` or `physicalhosts/status`, as RBAC rules name it. */
  resource: string;
  namespace?: string;
  name?: string;
}

export type Authorizer = (request: ResourceRequest) => boolean;

/** The RBAC verb of an HTTP request on a resource path. */
export function describeRequest(method: string, t: ResourcePath, r: ResourceType, watch: boolean): ResourceRequest {
  const verbs: Record<string, ResourceRequest['verb']> = { POST: 'create', PUT: 'update', PATCH: 'patch' };
  const verb: ResourceRequest['verb'] =
    method === 'GET' ? (watch ? 'watch' : t.name ? 'get' : 'list') : method === 'DELETE' ? (t.name ? 'delete' : 'deletecollection') : verbs[method] ?? 'get';
  return {
    verb,
    group: r.group,
    version: r.version,
    resource: t.subresource ? `${r.plural}/${t.subresource}` : r.plural,
    ...(r.namespaced && t.namespace ? { namespace: t.namespace } : {}),
    ...(t.name ? { name: t.name } : {}),
  };
}

/** The 403 a real server gives when RBAC does not allow a request. */
export function forbiddenRequest(request: ResourceRequest): ApiError {
  const qualified = request.group ? `${request.resource.split('/')[0]}.${request.group}` : request.resource.split('/')[0];
  const target = request.name ? `${qualified} "${request.name}"` : qualified;
  const scope = request.namespace ? `in the namespace "${request.namespace}"` : 'at the cluster scope';
  return new ApiError(
    403,
    'Forbidden',
    `${target} is forbidden: User "tide-dev" cannot ${request.verb} resource "${request.resource}" in API group "${request.group}" ${scope}`,
    { name: request.name, group: request.group, kind: request.resource.split('/')[0] },
  );
}
