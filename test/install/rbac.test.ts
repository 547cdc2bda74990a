/**
 * The ClusterRoles that kustomize and the chart install grant exactly the API calls the
 * operator and the zigbee agent make (src/controller/permissions.ts): no fewer, or Tide fails
 * with 403s in production; no more, or it holds privileges it never uses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OPERATOR_RULES, ZIGBEE_AGENT_RULES } from '../../src/controller/permissions.ts';
import { bindingProblems, clusterRoleRules, grants } from './checks.ts';
import { byKind, chartSkip, find, kustomize, kustomizeWithZigbeeAgent, renderChart, ROOT } from './render.ts';

const expected = { operator: grants(OPERATOR_RULES), 'zigbee-agent': grants(ZIGBEE_AGENT_RULES) };

test('grants() sees rules as sets: order and grouping do not matter, a missing verb does', () => {
  const split = OPERATOR_RULES.flatMap((r) => r.verbs.map((v) => ({ ...r, verbs: [v] }))).reverse();
  assert.deepEqual(grants(split), expected.operator);
  const short = OPERATOR_RULES.map((r, i) => (i === 0 ? { ...r, verbs: r.verbs.slice(1) } : r));
  assert.notDeepEqual(grants(short), expected.operator);
});

test('kustomize: the operator ClusterRole equals OPERATOR_RULES, and is the only role', async () => {
  const objects = await kustomize(`${ROOT}/manifests`);
  const roles = byKind(objects, 'ClusterRole');
  assert.deepEqual(roles.map((r) => r.metadata.name), ['tide-operator']);
  assert.deepEqual(grants(clusterRoleRules(roles[0]!)), expected.operator);
  assert.deepEqual([...byKind(objects, 'Role'), ...byKind(objects, 'RoleBinding')], []);
  assert.deepEqual(bindingProblems(objects), []);
});

test('kustomize + zigbee-agent component: the agent ClusterRole equals ZIGBEE_AGENT_RULES', async () => {
  const objects = await kustomizeWithZigbeeAgent();
  assert.deepEqual(grants(clusterRoleRules(find(objects, 'ClusterRole', 'tide-operator'))), expected.operator);
  assert.deepEqual(grants(clusterRoleRules(find(objects, 'ClusterRole', 'tide-zigbee-agent'))), expected['zigbee-agent']);
  assert.equal(byKind(objects, 'ClusterRole').length, 2);
  assert.deepEqual(bindingProblems(objects), []);
});

test('chart: both ClusterRoles equal permissions.ts, under any release name', { skip: chartSkip }, async () => {
  for (const [release, prefix] of [[{ name: 'tide', namespace: 'tide-system' }, 'tide'], [{ name: 'power', namespace: 'ops' }, 'power-tide']] as const) {
    const objects = await renderChart({ zigbeeAgent: { enabled: true } }, release);
    assert.deepEqual(grants(clusterRoleRules(find(objects, 'ClusterRole', `${prefix}-operator`))), expected.operator);
    assert.deepEqual(grants(clusterRoleRules(find(objects, 'ClusterRole', `${prefix}-zigbee-agent`))), expected['zigbee-agent']);
    assert.equal(byKind(objects, 'ClusterRole').length, 2);
    assert.deepEqual(bindingProblems(objects), []);
  }
  const operatorOnly = await renderChart();
  assert.deepEqual(byKind(operatorOnly, 'ClusterRole').map((r) => r.metadata.name), ['tide-operator']);
});
