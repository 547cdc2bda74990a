/**
 * Every Kubernetes API call the operator and the zigbee agent make, as RBAC rules. The
 * ClusterRoles in manifests/ and charts/tide are checked against this list by tests, and the
 * operator's end-to-end test checks that every request it actually sends is covered here —
 * so the role is exactly least privilege, neither short nor generous.
 */
import { GROUP, RESOURCES } from '../api/crds.ts';

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
  // Events go to the namespace of their object (`default` for cluster-scoped ones): any namespace.
  { apiGroups: [''], resources: ['events'], verbs: ['create'] },
];

/**
 * What the operator may do in its own namespace only (a Role, not a ClusterRole): read the
 * Secrets that PhysicalHosts name (a host may name no Secret elsewhere: credentials.ts), hold
 * the leader Lease, and keep the ConsolidationPlans (they live in this namespace only).
 */
export const OPERATOR_NAMESPACE_RULES: PermissionRule[] = [
  // Read through one informer on this namespace (informers.ts), never a GET per host per round.
  { apiGroups: [''], resources: ['secrets'], verbs: ['list', 'watch'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
  // ConsolidationPlans (plans.ts): proposed (create), read fresh and watched for approvals,
  // superseded and carried out (status), and the oldest finished ones deleted. Never the spec:
  // approving is a person's.
  { apiGroups: ['tide.dev'], resources: ['consolidationplans'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
  { apiGroups: ['tide.dev'], resources: ['consolidationplans/status'], verbs: ['update'] },
];

/**
 * The roles for people, aggregated into Kubernetes' own `view` and `edit` (ClusterRoles
 * tide-view and tide-edit): whoever may view a namespace may read Tide's resources; whoever may
 * edit one may create and change the namespaced ones, a team's VMs — and, in Tide's namespace,
 * approve ConsolidationPlans (Tide reads plans nowhere else). PhysicalHosts and the
 * ConsolidationPolicy (cluster-scoped: hosts, their power and their Secrets) stay with the
 * cluster's administrators.
 */
export const USER_VIEW_RULES: PermissionRule[] = [
  { apiGroups: [GROUP], resources: RESOURCES.map((r) => r.plural), verbs: ['get', 'list', 'watch'] },
];
export const USER_EDIT_RULES: PermissionRule[] = [
  { apiGroups: [GROUP], resources: RESOURCES.filter((r) => r.scope === 'Namespaced').map((r) => r.plural), verbs: ['create', 'update', 'patch', 'delete', 'deletecollection'] },
];

/** The agent re-lists hosts on a timer (no watch) and writes status with a conditional merge patch. */
export const ZIGBEE_AGENT_RULES: PermissionRule[] = [
  { apiGroups: ['tide.dev'], resources: ['physicalhosts'], verbs: ['get', 'list'] },
  { apiGroups: ['tide.dev'], resources: ['physicalhosts/status'], verbs: ['patch'] },
];

/** Is a request allowed to an operator running in `namespace` (its ClusterRole, or its Role there)? */
export function operatorAllows(namespace: string, request: { verb: string; group: string; resource: string; namespace?: string }): boolean {
  return allows(OPERATOR_RULES, request) || (request.namespace === namespace && allows(OPERATOR_NAMESPACE_RULES, request));
}

/** Is a request (verb on group/resource[/subresource]) allowed by `rules`? */
export function allows(rules: PermissionRule[], request: { verb: string; group: string; resource: string }): boolean {
  return rules.some((r) => r.apiGroups.includes(request.group) && r.resources.includes(request.resource) && r.verbs.includes(request.verb));
}
