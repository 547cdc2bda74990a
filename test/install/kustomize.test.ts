/** `kubectl kustomize manifests/` renders a complete, least-privilege, hardened install. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CLUSTER_SCOPED, containerHygiene, podSpecOf, restrictedViolations, serviceProblems } from './checks.ts';
import { byKind, find, kustomize, kustomizeWithZigbeeAgent, ROOT, type K8sObject } from './render.ts';

const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const operator = (objects: K8sObject[]) => find(objects, 'Deployment', 'tide-operator');

test('renders every CRD of manifests/crds, the namespace and the operator', async () => {
  const objects = await kustomize(join(ROOT, 'manifests'));
  const crdNames = readdirSync(join(ROOT, 'manifests/crds'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => (parseYaml(readFileSync(join(ROOT, 'manifests/crds', f), 'utf8')) as K8sObject).metadata.name)
    .sort();
  assert.deepEqual(byKind(objects, 'CustomResourceDefinition').map((c) => c.metadata.name).sort(), crdNames);
  assert.deepEqual(
    objects.map((o) => `${o.kind}/${o.metadata.name}`).filter((k) => !k.startsWith('CustomResourceDefinition/')).sort(),
    ['ClusterRole/tide-edit', 'ClusterRole/tide-operator', 'ClusterRole/tide-view', 'ClusterRoleBinding/tide-operator', 'Deployment/tide-operator', 'Namespace/tide-system', 'Role/tide-operator', 'RoleBinding/tide-operator', 'Service/tide-operator-metrics', 'ServiceAccount/tide-operator'],
  );
  for (const o of objects) assert.equal(o.metadata.namespace, CLUSTER_SCOPED.has(o.kind) ? undefined : 'tide-system', `${o.kind}/${o.metadata.name}`);
});

test('the operator: 2 replicas, leader election in its namespace, probes, image of this version', async () => {
  const objects = await kustomize(join(ROOT, 'manifests'));
  const deployment = operator(objects);
  assert.equal((deployment.spec as any).replicas, 2);
  const [container] = podSpecOf(deployment).containers;
  assert.equal(container.image, `tide-operator:${version}`);
  assert.deepEqual(container.args, ['run', '--namespace=$(POD_NAMESPACE)', '--leader-elect', '--metrics-port=8080', '--log-format=json', '--kube-qps=50', '--kube-burst=100']);
  assert.deepEqual(container.env.find((e: any) => e.name === 'POD_NAMESPACE').valueFrom, { fieldRef: { fieldPath: 'metadata.namespace' } });
  assert.equal(container.livenessProbe.httpGet.path, '/healthz');
  assert.equal(container.readinessProbe.httpGet.path, '/readyz');
  assert.deepEqual(container.ports, [{ name: 'metrics', containerPort: 8080, protocol: 'TCP' }]);
});

test('the operator meets Pod Security "restricted", with a read-only root and resource limits', async () => {
  const objects = await kustomize(join(ROOT, 'manifests'));
  const pod = podSpecOf(operator(objects));
  assert.deepEqual(restrictedViolations(pod), []);
  assert.deepEqual(containerHygiene(pod), []);
  assert.equal(find(objects, 'Namespace', 'tide-system').metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
  assert.deepEqual(serviceProblems(find(objects, 'Service', 'tide-operator-metrics'), byKind(objects, 'Deployment')), []);
});

test('the checks catch a weakened pod', async () => {
  const pod = structuredClone(podSpecOf(operator(await kustomize(join(ROOT, 'manifests')))));
  delete pod.containers[0].securityContext.allowPrivilegeEscalation;
  pod.containers[0].securityContext.readOnlyRootFilesystem = false;
  pod.containers[0].args[3] = '--metrics-port=9090';
  pod.containers[0].env.find((e: any) => e.name === 'TIDE_DATA_DIR').value = '/app/.tide/history';
  assert.deepEqual(restrictedViolations(pod), ['container operator: allowPrivilegeEscalation is not false']);
  assert.deepEqual(containerHygiene(pod), [
    'container operator: root filesystem is writable',
    'container operator: TIDE_DATA_DIR=/app/.tide/history is on the read-only root',
    'container operator: --metrics-port=9090 vs metrics port 8080',
  ]);
});

test('the zigbee-agent component: one agent on the coordinator node, the serial device, nothing more', async () => {
  const objects = await kustomizeWithZigbeeAgent();
  const agent = find(objects, 'Deployment', 'tide-zigbee-agent');
  const spec = agent.spec as any;
  assert.equal(spec.replicas, 1);
  assert.equal(spec.strategy.type, 'Recreate');
  const pod = podSpecOf(agent);
  assert.deepEqual(pod.nodeSelector, { 'tide.dev/zigbee-coordinator': 'true' });
  assert.deepEqual(pod.volumes.find((v: any) => v.hostPath).hostPath, { path: '/dev/ttyUSB0', type: 'CharDevice' });
  assert.equal(pod.containers[0].image, `tide-operator:${version}`);
  assert.equal(pod.containers[0].args[0], 'zigbee-agent');
  // The one departure from "restricted" is the device access itself.
  assert.deepEqual(restrictedViolations(pod), ['volume serial is a hostPath', 'container zigbee-agent is privileged', 'container zigbee-agent: allowPrivilegeEscalation is not false']);
  assert.deepEqual(containerHygiene(pod), []);
  assert.equal(find(objects, 'Namespace', 'tide-system').metadata.labels?.['pod-security.kubernetes.io/enforce'], 'privileged');
  assert.deepEqual(serviceProblems(find(objects, 'Service', 'tide-zigbee-agent-metrics'), byKind(objects, 'Deployment')), []);
  // The operator is untouched by the component.
  assert.deepEqual(operator(objects), operator(await kustomize(join(ROOT, 'manifests'))));
});
