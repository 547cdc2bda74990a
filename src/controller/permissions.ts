/**
 * Every Kubernetes API call the operator and the zigbee agent make, as RBAC rules. The
 * ClusterRoles in manifests/ and charts/tide are checked against this list by tests, and the
 * operator's end-to-end test checks that every request it actually sends is covered here —
 * so the role is exactly least privilege, neither short nor generous.
 */
export interface PermissionRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

export const OPERATOR_RULES: PermissionRule[] = [
  { apiGroups: ['tide.dev'], resources: ['physicalhosts', 'virtualmachineplacements', 'consolidationpolicies', 'virtualmachinemigrations'], verbs: ['get', 'list', 'watch'] },
  // Only to add and remove the finalizer tide.dev/host-protection (finalizers.ts): never the spec.
  { apiGroups: ['tide.dev'], resources: ['physicalhosts'], verbs: ['update'] },
  { apiGroups: ['tide.dev'], resources: ['physicalhosts/status', 'virtualmachineplacements/status', 'consolidationpolicies/status', 'virtualmachinemigrations/status'], verbs: ['update'] },
  { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
];

/** The agent re-lists hosts on a timer (no watch) and writes status with a conditional merge patch. */
export const ZIGBEE_AGENT_RULES: PermissionRule[] = [
  { apiGroups: ['tide.dev'], resources: ['physicalhosts'], verbs: ['get', 'list'] },
  { apiGroups: ['tide.dev'], resources: ['physicalhosts/status'], verbs: ['patch'] },
];

/** Is a request (verb on group/resource[/subresource]) allowed by `rules`? */
export function allows(rules: PermissionRule[], request: { verb: string; group: string; resource: string }): boolean {
  return rules.some((r) => r.apiGroups.includes(request.group) && r.resources.includes(request.resource) && r.verbs.includes(request.verb));
}
