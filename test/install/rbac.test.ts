/**
 * The roles that kustomize and the chart install grant exactly the API calls the operator and
 * the zigbee agent make (src/controller/permissions.ts): no fewer, or Tide fails with 403s in
 * production; no more, or it holds privileges it never uses. Secrets and the leader Lease are
 * granted in Tide's namespace only (a Role), and the roles for people (tide-view, tide-edit)
 * are aggregated into Kubernetes' own view and edit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RESOURCES } from '../../src/api/crds.ts';
import { OPERATOR_NAMESPACE_RULES, OPERATOR_RULES, USER_EDIT_RULES, USER_VIEW_RULES, ZIGBEE_AGENT_RULES } from '../../src/controller/permissions.ts';
import { bindingProblems, clusterRoleRules, grants } from './checks.ts';
import { byKind, chartSkip, find, kustomize, kustomizeWithZigbeeAgent, renderChart, ROOT, type K8sObject } from './render.ts';

const expected = {
  operator: grants(OPERATOR_RULES),
  operatorNamespace: grants(OPERATOR_NAMESPACE_RULES),
  'zigbee-agent': grants(ZIGBEE_AGENT_RULES),
  view: grants(USER_VIEW_RULES),
  edit: grants(USER_EDIT_RULES),
};

test('grants() sees rules as sets: order and grouping do not matter, a missing verb does', () => {
  const split = OPERATOR_RULES.flatMap((r) => r.verbs.map((v) => ({ ...r, verbs: [v] }))).reverse();
  assert.deepEqual(grants(split), expected.operator);
  const short = OPERATOR_RULES.map((r, i) => (i === 0 ? { ...r, verbs: r.verbs.slice(1) } : r));
  assert.notDeepEqual(grants(short), expected.operator);
});

test('permissions.ts: Secrets and Leases only in the namespaced rules; people may read every Tide resource and edit only the namespaced ones', () => {
  for (const g of expected.operator) assert.doesNotMatch(g, /^(core secrets|coordination\.k8s\.io leases) /, `${g} is cluster-wide`);
  const secrets = expected.operatorNamespace.filter((g) => g.startsWith('core secrets '));
  assert.ok(secrets.length > 0 && secrets.every((g) => /^core secrets (get|list|watch)$/.test(g)), `Secrets only read: ${secrets.join(', ')}`);
  for (const r of RESOURCES) {
    assert.ok(expected.view.includes(`tide.dev ${r.plural} list`), `view lists ${r.plural}`);
    assert.equal(expected.edit.includes(`tide.dev ${r.plural} create`), r.scope === 'Namespaced', `edit creates ${r.plural} iff namespaced`);
  }
});

/** The operator's Role and its binding in `namespace`, checked; returns the problems. */
function operatorRoleProblems(objects: K8sObject[], name: string, namespace: string): string[] {
  const role = objects.find((o) => o.kind === 'Role' && o.metadata.name === name);
  if (!role) return [`no Role ${name}`];
  const problems: string[] = [];
  if (role.metadata.namespace !== namespace) problems.push(`Role ${name} is in ${role.metadata.namespace}, not ${namespace}`);
  if (JSON.stringify(grants(clusterRoleRules(role))) !== JSON.stringify(expected.operatorNamespace)) problems.push(`Role ${name} grants ${grants(clusterRoleRules(role)).join(', ')}`);
  const binding = objects.find((o) => o.kind === 'RoleBinding' && o.metadata.name === name);
  const ref = binding?.roleRef as { kind?: string; name?: string } | undefined;
  const subjects = (binding?.subjects ?? []) as Array<{ kind: string; name: string; namespace: string }>;
  if (!binding || binding.metadata.namespace !== namespace || ref?.kind !== 'Role' || ref.name !== name) problems.push(`RoleBinding ${name} does not bind Role ${name} in ${namespace}`);
  else if (!subjects.some((s) => s.kind === 'ServiceAccount' && s.name === name && s.namespace === namespace)) problems.push(`RoleBinding ${name} does not name ServiceAccount ${namespace}/${name}`);
  return problems;
}

/** tide-view and tide-edit: the rules of permissions.ts and the labels that aggregate them. */
function userRoleProblems(objects: K8sObject[], prefix: string): string[] {
  const problems: string[] = [];
  for (const [kind, into] of [['view', ['view', 'edit', 'admin']], ['edit', ['edit', 'admin']]] as const) {
    const role = objects.find((o) => o.kind === 'ClusterRole' && o.metadata.name === `${prefix}-${kind}`);
    if (!role) { problems.push(`no ClusterRole ${prefix}-${kind}`); continue; }
    if (JSON.stringify(grants(clusterRoleRules(role))) !== JSON.stringify(expected[kind])) problems.push(`${prefix}-${kind} grants ${grants(clusterRoleRules(role)).join(', ')}`);
    for (const target of into) if (role.metadata.labels?.[`rbac.authorization.k8s.io/aggregate-to-${target}`] !== 'true') problems.push(`${prefix}-${kind} is not aggregated to ${target}`);
  }
  return problems;
}

test('kustomize: the operator ClusterRole equals OPERATOR_RULES, its Role in tide-system OPERATOR_NAMESPACE_RULES; tide-view and tide-edit', async () => {
  const objects = await kustomize(`${ROOT}/manifests`);
  assert.deepEqual(byKind(objects, 'ClusterRole').map((r) => r.metadata.name).sort(), ['tide-edit', 'tide-operator', 'tide-view']);
  assert.deepEqual(grants(clusterRoleRules(find(objects, 'ClusterRole', 'tide-operator'))), expected.operator);
  assert.deepEqual(byKind(objects, 'Role').map((r) => r.metadata.name), ['tide-operator']);
  assert.deepEqual(operatorRoleProblems(objects, 'tide-operator', 'tide-system'), []);
  assert.deepEqual(userRoleProblems(objects, 'tide'), []);
  assert.deepEqual(bindingProblems(objects), []);
});

test('kustomize + zigbee-agent component: the agent ClusterRole equals ZIGBEE_AGENT_RULES', async () => {
  const objects = await kustomizeWithZigbeeAgent();
  assert.deepEqual(grants(clusterRoleRules(find(objects, 'ClusterRole', 'tide-operator'))), expected.operator);
  assert.deepEqual(grants(clusterRoleRules(find(objects, 'ClusterRole', 'tide-zigbee-agent'))), expected['zigbee-agent']);
  assert.equal(byKind(objects, 'ClusterRole').length, 4);
  assert.deepEqual(operatorRoleProblems(objects, 'tide-operator', 'tide-system'), []);
  assert.deepEqual(bindingProblems(objects), []);
});

test('chart: the roles equal permissions.ts, under any release name and namespace', { skip: chartSkip }, async () => {
  for (const [release, prefix] of [[{ name: 'tide', namespace: 'tide-system' }, 'tide'], [{ name: 'power', namespace: 'ops' }, 'power-tide']] as const) {
    const objects = await renderChart({ zigbeeAgent: { enabled: true } }, release);
    assert.deepEqual(grants(clusterRoleRules(find(objects, 'ClusterRole', `${prefix}-operator`))), expected.operator);
    assert.deepEqual(grants(clusterRoleRules(find(objects, 'ClusterRole', `${prefix}-zigbee-agent`))), expected['zigbee-agent']);
    assert.equal(byKind(objects, 'ClusterRole').length, 4);
    assert.deepEqual(operatorRoleProblems(objects, `${prefix}-operator`, release.namespace), []);
    assert.deepEqual(userRoleProblems(objects, prefix), []);
    assert.deepEqual(bindingProblems(objects), []);
  }
  const operatorOnly = await renderChart();
  assert.deepEqual(byKind(operatorOnly, 'ClusterRole').map((r) => r.metadata.name).sort(), ['tide-edit', 'tide-operator', 'tide-view']);
});
