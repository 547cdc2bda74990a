/**
 * The Helm chart, rendered by the real helm (render.ts): its CRDs are manifests/crds/, its values
 * are documented and schema-checked, every template renders to valid YAML under several value
 * sets, and with the defaults it installs the same objects as kustomize. test/realkube/helm.test.ts
 * installs it into a real API server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { isMap, parseDocument, type YAMLMap } from 'yaml';
import { crdDifferences } from '../../scripts/sync-chart-crds.ts';
import { CLUSTER_SCOPED, containerHygiene, podSpecOf, restrictedViolations, serviceProblems } from './checks.ts';
import { byKind, CHART, chartSkip, chartValues, find, helmTemplate, kustomizeWithZigbeeAgent, mergeValues, renderChart, renderChartTexts, ROOT, templateFiles, type K8sObject } from './render.ts';

const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8'));
const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);
const check = (overrides: Record<string, unknown>) => (validate(mergeValues(chartValues(), overrides)) ? [] : validate.errors!.map((e) => `${e.instancePath} ${e.message}`));

test("the chart's crds/ are manifests/crds/, byte for byte", () => {
  assert.deepEqual(crdDifferences(), [], 'run: npx tsx scripts/sync-chart-crds.ts');
});

test('Chart.yaml: appVersion and image tag are the package version', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const chart = parseDocument(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')).toJS() as Record<string, string>;
  assert.equal(chart.apiVersion, 'v2');
  assert.equal(chart.appVersion, pkg.version);
  assert.equal((chartValues().image as { tag: string }).tag, pkg.version);
});

test('values.yaml validates against values.schema.json, and the schema has teeth', () => {
  assert.deepEqual(check({}), []);
  assert.deepEqual(check({ zigbeeAgent: { enabled: true, source: 'mqtt', mqtt: { url: 'mqtt://broker:1883' } } }), []);
  assert.match(check({ operator: { replica: 3 } }).join(), /must NOT have additional properties/);
  assert.match(check({ operator: { replicas: 'two' } }).join(), /\/operator\/replicas must be integer/);
  assert.match(check({ operator: { replicas: 2, leaderElect: false } }).join(), /\/operator\/leaderElect must be equal to constant/);
  assert.match(check({ operator: { resources: { limits: { memory: '512 MB' } } } }).join(), /\/operator\/resources\/limits\/memory must match pattern/);
  assert.match(check({ zigbeeAgent: { enabled: true, source: 'mqtt' } }).join(), /\/zigbeeAgent\/mqtt\/url must NOT have fewer than 1 characters/);
  assert.match(check({ operator: { extraArgs: ['rm -rf /'] } }).join(), /\/operator\/extraArgs\/0 must match pattern/);
  // What users of other charts write: sub-chart globals, numeric quantities, pull secrets as
  // the pod spec has them, name overrides, pod labels/annotations and scheduling.
  assert.deepEqual(check({ global: { imageRegistry: 'registry.example.com', storageClass: 'fast' } }), []);
  assert.deepEqual(check({ operator: { resources: { requests: { cpu: 0.5, memory: '256Mi' }, limits: { cpu: 2, memory: 1073741824 } } } }), []);
  assert.deepEqual(check({ operator: { resources: { requests: { cpu: '.5', memory: '1e9' }, limits: {} } } }), []);
  assert.match(check({ operator: { resources: { requests: { cpu: '1e3m' } } } }).join(), /\/operator\/resources\/requests\/cpu must match pattern/);
  assert.match(check({ operator: { resources: { limits: { cpu: -1 } } } }).join(), /\/operator\/resources\/limits\/cpu must be >= 0/);
  assert.deepEqual(check({ imagePullSecrets: [{ name: 'regcred' }, 'legacy'] }), []);
  assert.match(check({ imagePullSecrets: [{ secret: 'regcred' }] }).join(), /\/imagePullSecrets\/0 must have required property 'name'/);
  assert.deepEqual(check({ nameOverride: 'power', fullnameOverride: 'tide-prod' }), []);
  assert.match(check({ fullnameOverride: 'Tide_Prod' }).join(), /\/fullnameOverride must match pattern/);
  assert.deepEqual(check({ operator: { podLabels: { team: 'infra' }, podAnnotations: { 'example.com/a': 'b' }, affinity: { nodeAffinity: {} } } }), []);
  assert.match(check({ operator: { affinity: { antiAffinity: {} } } }).join(), /\/operator\/affinity must NOT have additional properties/);
  assert.deepEqual(check({ zigbeeAgent: { tolerations: [{ key: 'zigbee', operator: 'Exists' }], affinity: {}, podLabels: { a: 'b' }, podAnnotations: { c: 'd' } } }), []);
});

test('every key in values.yaml has a comment', () => {
  const doc = parseDocument(readFileSync(join(CHART, 'values.yaml'), 'utf8'));
  const resolve = (node: any): any => (node?.$ref ? resolve(schema.definitions[node.$ref.split('/').pop()]) : node);
  const missing: string[] = [];
  const walk = (map: YAMLMap, node: any, path: string, inherited: string | null | undefined) => {
    map.items.forEach((pair, i) => {
      const key = String((pair.key as { value: unknown }).value);
      // The comment above a mapping's first key is stored on the mapping (or the document).
      const comment = (pair.key as { commentBefore?: string | null }).commentBefore ?? (i === 0 ? inherited : null);
      if (!comment?.trim()) missing.push(path + key);
      // Descend into the chart's own settings, not into user data such as a nodeSelector's labels.
      const child = resolve(node.properties?.[key]);
      if (isMap(pair.value) && child?.properties) walk(pair.value, child, `${path}${key}.`, pair.value.commentBefore);
    });
  };
  walk(doc.contents as YAMLMap, schema, '', doc.commentBefore);
  assert.deepEqual(missing, []);
});

const valueSets: Record<string, Record<string, unknown>> = {
  defaults: {},
  'everything, serial from a hostPath': { zigbeeAgent: { enabled: true }, podDisruptionBudget: { enabled: true }, serviceMonitor: { enabled: true, labels: { release: 'kube-prometheus-stack' } } },
  'serial through a device plugin': { zigbeeAgent: { enabled: true, serial: { deviceResource: 'squat.ai/serial' } } },
  mqtt: { zigbeeAgent: { enabled: true, source: 'mqtt', mqtt: { url: 'mqtt://mosquitto.zigbee.svc:1883', existingSecret: 'zigbee2mqtt-login' } } },
  'names and scheduling': {
    nameOverride: 'kvm',
    global: { imageRegistry: 'registry.example.com' },
    operator: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kvm', operator: 'In', values: ['yes'] }] }] } } } },
    zigbeeAgent: { enabled: true, source: 'mqtt', mqtt: { url: 'mqtt://b:1883' }, tolerations: [{ key: 'zigbee', operator: 'Exists' }], podLabels: { team: 'power' } },
  },
  'serial by path': { zigbeeAgent: { enabled: true, serial: { device: '/dev/serial/by-path/pci-0000:00:14.0-usb-0:2:1.0-port0', escaped: true } } },
  'custom operator': {
    imagePullSecrets: [{ name: 'regcred' }, 'legacy-name'],
    fullnameOverride: 'power-tide',
    history: { mongodb: { existingSecret: 'tide-mongodb' } },
    operator: {
      replicas: 3,
      metricsPort: 9090,
      nodeSelector: { 'node-role.kubernetes.io/control-plane': '' },
      tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }, { key: 'x', value: 'y', effect: 'NoExecute', tolerationSeconds: 0 }],
      podAnnotations: { 'example.com/note': 'a: "quoted" value' },
      podLabels: { team: 'infra', 'app.kubernetes.io/component': 'not-this' },
      resources: { requests: { cpu: 0.25, memory: '300Mi' }, limits: { cpu: 2, memory: 1073741824 } },
      priorityClassName: 'system-cluster-critical',
      hostNetwork: true,
      extraArgs: ['--flag=a "b": c # d'],
    },
  },
};

test('every template renders to valid YAML objects under every value set', { skip: chartSkip }, async () => {
  for (const [name, overrides] of Object.entries(valueSets)) {
    assert.deepEqual(check(overrides), [], `${name}: values invalid`);
    const texts = await renderChartTexts(overrides, { name: 'tide', namespace: 'power' });
    assert.deepEqual([...texts.keys()], templateFiles());
    const objects = await renderChart(overrides, { name: 'tide', namespace: 'power' });
    const keys = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    assert.equal(new Set(keys).size, keys.length, `${name}: duplicate objects ${keys}`);
    for (const o of objects) {
      assert.ok(o.apiVersion && o.kind && o.metadata?.name, `${name}: ${JSON.stringify(o).slice(0, 200)}`);
      assert.equal(o.metadata.namespace, CLUSTER_SCOPED.has(o.kind) ? undefined : 'power', `${name}: ${o.kind}/${o.metadata.name}`);
      assert.equal(o.metadata.labels?.['app.kubernetes.io/instance'], 'tide', `${name}: ${o.kind}/${o.metadata.name}`);
    }
    for (const d of byKind(objects, 'Deployment')) assert.deepEqual(containerHygiene(podSpecOf(d)), [], `${name}: ${d.metadata.name}`);
    for (const s of byKind(objects, 'Service')) assert.deepEqual(serviceProblems(s, byKind(objects, 'Deployment')), [], name);
  }
});

test('with the defaults the chart installs what kustomize does (less the Namespace, which Helm leaves to --create-namespace)', { skip: chartSkip }, async () => {
  const chart = await renderChart({ zigbeeAgent: { enabled: true } });
  const kustomized = (await kustomizeWithZigbeeAgent()).filter((o) => o.kind !== 'Namespace' && o.kind !== 'CustomResourceDefinition');
  const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  assert.deepEqual(chart.map(key).sort(), kustomized.map(key).sort());
  for (const o of kustomized) {
    const twin = chart.find((c) => key(c) === key(o))!;
    const { metadata: _a, ...ours } = o;
    const { metadata: _b, ...theirs } = twin;
    assert.deepEqual(theirs, ours, key(o));
  }
});

test('PodDisruptionBudget and ServiceMonitor exist only when enabled, and select the right pods and ports', { skip: chartSkip }, async () => {
  const plain = await renderChart();
  assert.deepEqual([...byKind(plain, 'PodDisruptionBudget'), ...byKind(plain, 'ServiceMonitor')], []);
  const objects = await renderChart(valueSets['everything, serial from a hostPath']);
  const pdb = find(objects, 'PodDisruptionBudget', 'tide-operator').spec as any;
  assert.equal(pdb.minAvailable, 1);
  assert.deepEqual(pdb.selector.matchLabels, (find(objects, 'Deployment', 'tide-operator').spec as any).selector.matchLabels);
  const monitor = find(objects, 'ServiceMonitor', 'tide');
  assert.equal(monitor.metadata.labels?.release, 'kube-prometheus-stack');
  const selector = (monitor.spec as any).selector.matchLabels as Record<string, string>;
  const scraped = byKind(objects, 'Service').filter((s) => Object.entries(selector).every(([k, v]) => s.metadata.labels?.[k] === v));
  assert.deepEqual(scraped.map((s) => s.metadata.name).sort(), ['tide-operator-metrics', 'tide-zigbee-agent-metrics']);
  for (const s of scraped) assert.ok((s.spec as any).ports.some((p: any) => p.name === (monitor.spec as any).endpoints[0].port), s.metadata.name);
});

test('zigbee agent: privileged only for a hostPath device; device plugin and MQTT run "restricted"', { skip: chartSkip }, async () => {
  const agent = async (overrides: Record<string, unknown>) => podSpecOf(find(await renderChart(overrides), 'Deployment', 'tide-zigbee-agent'));
  const hostPath = await agent(valueSets['everything, serial from a hostPath']!);
  assert.deepEqual(restrictedViolations(hostPath), ['volume serial is a hostPath', 'container zigbee-agent is privileged', 'container zigbee-agent: allowPrivilegeEscalation is not false']);
  assert.deepEqual(hostPath.securityContext.supplementalGroups, [20]);

  const plugin = await agent(valueSets['serial through a device plugin']!);
  assert.deepEqual(restrictedViolations(plugin), []);
  assert.equal(plugin.containers[0].resources.limits['squat.ai/serial'], '1');
  assert.deepEqual(plugin.nodeSelector, { 'tide.dev/zigbee-coordinator': 'true' });

  const mqtt = await agent(valueSets.mqtt!);
  assert.deepEqual(restrictedViolations(mqtt), []);
  assert.equal(mqtt.nodeSelector, undefined);
  assert.ok(mqtt.containers[0].args.includes('--mqtt=mqtt://mosquitto.zigbee.svc:1883'));
  assert.deepEqual(mqtt.containers[0].env.map((e: any) => [e.name, e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key]), [
    ['MQTT_USERNAME', 'zigbee2mqtt-login', 'username'],
    ['MQTT_PASSWORD', 'zigbee2mqtt-login', 'password'],
  ]);

  const byPath = await agent(valueSets['serial by path']!);
  const device = '/dev/serial/by-path/pci-0000:00:14.0-usb-0:2:1.0-port0';
  assert.deepEqual(byPath.containers[0].args.slice(1, 4), [`--serial=${device}`, '--baud=9600', '--escaped']);
  assert.equal(byPath.volumes.find((v: any) => v.name === 'serial').hostPath.path, device);
  assert.equal(byPath.containers[0].volumeMounts.find((m: any) => m.name === 'serial').mountPath, device);
});

test('custom values reach the operator intact, quoting included', { skip: chartSkip }, async () => {
  const objects = await renderChart(valueSets['custom operator']!, { name: 'tide', namespace: 'power' });
  const deployment = find(objects, 'Deployment', 'power-tide-operator');
  const pod = podSpecOf(deployment);
  const [container] = pod.containers;
  assert.equal((deployment.spec as any).replicas, 3);
  assert.deepEqual(pod.imagePullSecrets, [{ name: 'regcred' }, { name: 'legacy-name' }]);
  assert.equal(pod.serviceAccountName, 'power-tide-operator');
  assert.equal(pod.priorityClassName, 'system-cluster-critical');
  assert.deepEqual([pod.hostNetwork, pod.dnsPolicy], [true, 'ClusterFirstWithHostNet']);
  assert.deepEqual(restrictedViolations(pod), ['hostNetwork is set']);
  assert.deepEqual(pod.nodeSelector, { 'node-role.kubernetes.io/control-plane': '' });
  assert.deepEqual(pod.tolerations, [
    { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'x', value: 'y', effect: 'NoExecute', tolerationSeconds: 0 },
  ]);
  const template = (deployment.spec as any).template;
  assert.deepEqual(template.metadata.annotations, { 'example.com/note': 'a: "quoted" value' });
  // Extra pod labels are added; the selector's own labels cannot be overridden.
  assert.deepEqual(template.metadata.labels, { team: 'infra', 'app.kubernetes.io/name': 'tide', 'app.kubernetes.io/instance': 'tide', 'app.kubernetes.io/component': 'operator' });
  assert.deepEqual(container.resources, { requests: { cpu: 0.25, memory: '300Mi' }, limits: { cpu: 2, memory: 1073741824 } });
  assert.equal(container.args.at(-1), '--flag=a "b": c # d');
  assert.ok(container.args.includes('--metrics-port=9090'));
  assert.deepEqual(container.env.find((e: any) => e.name === 'MONGODB_URI').valueFrom, { secretKeyRef: { name: 'tide-mongodb', key: 'uri' } });
  assert.equal((find(objects, 'Service', 'power-tide-operator-metrics').spec as any).ports[0].port, 9090);
  assert.deepEqual((find(objects, 'ClusterRoleBinding', 'power-tide-operator') as any).subjects, [{ kind: 'ServiceAccount', name: 'power-tide-operator', namespace: 'power' }]);
});

test('names: the release name, nameOverride and fullnameOverride name every object', { skip: chartSkip }, async () => {
  const names = async (overrides: Record<string, unknown>, release: string) =>
    (await renderChart({ zigbeeAgent: { enabled: true }, ...overrides }, { name: release, namespace: 'ops' })).map((o) => `${o.kind}/${o.metadata.name}`).sort();
  const expected = (prefix: string) =>
    ['ClusterRole/P-edit', 'ClusterRole/P-operator', 'ClusterRole/P-view', 'ClusterRole/P-zigbee-agent', 'ClusterRoleBinding/P-operator', 'ClusterRoleBinding/P-zigbee-agent', 'Deployment/P-operator', 'Deployment/P-zigbee-agent', 'Role/P-operator', 'RoleBinding/P-operator', 'Service/P-operator-metrics', 'Service/P-zigbee-agent-metrics', 'ServiceAccount/P-operator', 'ServiceAccount/P-zigbee-agent'].map((n) => n.replace('P', prefix)).sort();
  assert.deepEqual(await names({}, 'tide'), expected('tide'));
  assert.deepEqual(await names({}, 'tide-prod'), expected('tide-prod'));
  assert.deepEqual(await names({}, 'power'), expected('power-tide'));
  assert.deepEqual(await names({ nameOverride: 'kvm' }, 'power'), expected('power-kvm'));
  assert.deepEqual(await names({ fullnameOverride: 'energy' }, 'power'), expected('energy'));
  const objects = await renderChart(valueSets['names and scheduling']!, { name: 'power', namespace: 'ops' });
  const operator = find(objects, 'Deployment', 'power-kvm-operator');
  assert.equal(operator.metadata.labels?.['app.kubernetes.io/name'], 'kvm');
  assert.deepEqual((operator.spec as any).selector.matchLabels, { 'app.kubernetes.io/name': 'kvm', 'app.kubernetes.io/instance': 'power', 'app.kubernetes.io/component': 'operator' });
  assert.deepEqual(Object.keys(podSpecOf(operator).affinity), ['nodeAffinity'], 'a given affinity replaces the default anti-affinity');
  const agent = podSpecOf(find(objects, 'Deployment', 'power-kvm-zigbee-agent'));
  assert.deepEqual(agent.tolerations, [{ key: 'zigbee', operator: 'Exists' }]);
  assert.equal((find(objects, 'Deployment', 'power-kvm-zigbee-agent').spec as any).template.metadata.labels.team, 'power');
});

test('helm template refuses what the schema refuses, and an MQTT agent without a URL', { skip: chartSkip }, async () => {
  await assert.rejects(helmTemplate({ operator: { replicas: 'two' } }), /values don't meet the specifications of the schema\(s\)[\s\S]*replicas/);
  await assert.rejects(helmTemplate({ imagePullSecrets: [{ secret: 'x' }] }), /imagePullSecrets/);
});
