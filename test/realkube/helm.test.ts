/**
 * The Helm install path of docs/install.md with the real helm on a real kube-apiserver:
 * `helm lint`, `helm template … | kubectl apply --dry-run=server`, `helm install` into a fresh
 * namespace (the Deployment, ServiceAccount, RBAC and the CRDs from the chart's crds/ created),
 * `helm upgrade` with changed values, `helm uninstall`.
 *
 * A private server: `helm install` must be seen creating the CRDs, so none may exist before.
 * No kubelet runs, so the Deployment's pods are never started (docs/install.md says so).
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { OPERATOR_NAMESPACE_RULES, OPERATOR_RULES } from '../../src/controller/permissions.ts';
import { waitFor } from '../hypervisor/eventually.ts';
import { grants } from '../install/checks.ts';
import { REAL_KUBE, ROOT, realTest, startRealApiServer, type RealApiServer } from './envtest.ts';

const CHART = join(ROOT, 'charts/tide');
const CRDS = ['consolidationpolicies.tide.dev', 'physicalhosts.tide.dev', 'virtualmachineplacements.tide.dev'];
let server: RealApiServer;
let scratch: string;

before(async () => {
  if (!REAL_KUBE.enabled) return;
  server = await startRealApiServer({ private: true });
  scratch = mkdtempSync(join(tmpdir(), 'tide-helm-test-'));
});
after(async () => {
  await server?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const values = (name: string, v: unknown) => {
  const file = join(scratch, `${name}.json`);
  writeFileSync(file, JSON.stringify(v));
  return file;
};
const json = async (...args: string[]) => JSON.parse(await server.kubectlOk([...args, '-o', 'json']));

realTest('helm lint --strict passes, under the defaults and under every feature switched on', async () => {
  const out = await server.helmOk(['lint', '--strict', CHART]);
  assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  const everything = values('everything', {
    zigbeeAgent: { enabled: true, source: 'mqtt', mqtt: { url: 'mqtt://broker:1883', existingSecret: 'login' } },
    podDisruptionBudget: { enabled: true },
    serviceMonitor: { enabled: true },
    prometheusRule: { enabled: true, labels: { release: 'kube-prometheus-stack' } },
    imagePullSecrets: [{ name: 'regcred' }],
    history: { mongodb: { existingSecret: 'tide-mongodb' } },
  });
  assert.match(await server.helmOk(['lint', '--strict', CHART, '-f', everything]), /0 chart\(s\) failed/);
  // And lint does fail on values the schema refuses.
  const bad = await server.helm(['lint', '--strict', CHART, '-f', values('bad', { operator: { replicas: 0 } })]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stdout + bad.stderr, /replicas/);
});

realTest('as a sub-chart: a parent chart with globals renders Tide, with values set through the parent', async () => {
  const parent = join(scratch, 'platform');
  mkdirSync(join(parent, 'charts'), { recursive: true });
  writeFileSync(join(parent, 'Chart.yaml'), `apiVersion: v2\nname: platform\nversion: 1.0.0\ndependencies:\n  - name: tide\n    version: 0.1.0\n    repository: file://${CHART}\n`);
  writeFileSync(join(parent, 'values.yaml'), 'global:\n  imageRegistry: registry.example.com\ntide:\n  operator:\n    replicas: 3\n');
  await server.helmOk(['dependency', 'update', parent]);
  const rendered = await server.helmOk(['template', 'platform', parent, '-n', 'ops']);
  const deployment = parseAllDocuments(rendered).map((d) => d.toJS()).find((o: any) => o?.kind === 'Deployment') as any;
  assert.equal(deployment.metadata.name, 'platform-tide-operator');
  assert.equal(deployment.spec.replicas, 3);
});

realTest('helm template | kubectl apply --dry-run=server: every object of every value set is valid on the real server', async () => {
  // The CRDs must exist for the server to judge custom resources; the chart has none in its
  // templates, but the dry run of the rest needs the namespace.
  const ns = await server.namespace('dry-run');
  const sets: Record<string, unknown> = {
    defaults: {},
    serial: { zigbeeAgent: { enabled: true }, podDisruptionBudget: { enabled: true } },
    'device plugin': { zigbeeAgent: { enabled: true, serial: { deviceResource: 'squat.ai/serial' } } },
    mqtt: { zigbeeAgent: { enabled: true, source: 'mqtt', mqtt: { url: 'mqtt://b:1883', existingSecret: 'login' } } },
    custom: {
      fullnameOverride: 'energy',
      imagePullSecrets: [{ name: 'regcred' }],
      operator: {
        replicas: 3, hostNetwork: true, priorityClassName: 'system-cluster-critical',
        resources: { requests: { cpu: 0.5, memory: 268435456 }, limits: { cpu: 2, memory: '1Gi' } },
        podLabels: { team: 'infra' }, podAnnotations: { 'example.com/a': 'b' },
        tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoSchedule' }],
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kvm', operator: 'Exists' }] }] } } },
        nodeSelector: { 'kubernetes.io/os': 'linux' },
      },
    },
  };
  for (const [name, v] of Object.entries(sets)) {
    const rendered = await server.helmOk(['template', 'tide', CHART, '-n', ns, '-f', values(name, v)]);
    const kinds = parseAllDocuments(rendered).map((d) => (d.toJS() as { kind?: string } | null)?.kind).filter(Boolean);
    assert.ok(kinds.includes('Deployment'), name);
    const r = await server.kubectl(['apply', '--dry-run=server', '-n', ns, '-f', '-'], { input: rendered });
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    assert.equal(r.stdout.trim().split('\n').length, kinds.length, `${name}: ${r.stdout}`);
    for (const line of r.stdout.trim().split('\n')) assert.match(line, /created \(server dry run\)$/, `${name}: ${line}`);
  }
});

realTest('helm install into a fresh namespace creates the CRDs, the Deployment, the ServiceAccount and RBAC; upgrade changes them; uninstall removes them', async () => {
  const ns = 'tide-helm';
  for (const crd of CRDS) assert.equal((await server.kubectl(['get', 'crd', crd])).code, 1, `${crd} exists before the install`);
  const install = await server.helmOk(['install', 'tide', CHART, '-n', ns, '--create-namespace', '--wait=false']);
  assert.match(install, /STATUS: deployed/);
  assert.match(install, /NOTES:[\s\S]*kubectl -n tide-helm get deployment tide-operator/, 'NOTES.txt rendered');

  for (const crd of CRDS) {
    const c = await json('get', 'crd', crd);
    assert.equal(c.status.conditions.find((x: any) => x.type === 'Established')?.status, 'True', crd);
  }
  const deployment = await json('get', 'deployment', 'tide-operator', '-n', ns);
  assert.equal(deployment.spec.replicas, 2);
  assert.equal(deployment.metadata.labels['app.kubernetes.io/managed-by'], 'Helm');
  assert.equal(deployment.metadata.annotations['meta.helm.sh/release-name'], 'tide');
  assert.equal(deployment.spec.template.spec.serviceAccountName, 'tide-operator');
  await json('get', 'serviceaccount', 'tide-operator', '-n', ns);
  await json('get', 'service', 'tide-operator-metrics', '-n', ns);
  const role = await json('get', 'clusterrole', 'tide-operator');
  assert.deepEqual(grants(role.rules), grants(OPERATOR_RULES));
  const binding = await json('get', 'clusterrolebinding', 'tide-operator');
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'tide-operator', namespace: ns }]);
  // The real authorizer grants the chart's ServiceAccount what permissions.ts lists, no more.
  const can = async (verb: string, resource: string, ...more: string[]) =>
    (await server.kubectl(['auth', 'can-i', verb, resource, ...more, `--as=system:serviceaccount:${ns}:tide-operator`])).stdout.trim();
  assert.equal(await can('list', 'physicalhosts.tide.dev'), 'yes');
  assert.equal(await can('update', 'virtualmachineplacements.tide.dev', '--subresource=status', '-n', ns), 'yes');
  assert.equal(await can('update', 'virtualmachineplacements.tide.dev', '-n', ns), 'no');
  assert.equal(await can('delete', 'physicalhosts.tide.dev'), 'no');
  // Secrets and the leader Lease: through a Role in the release namespace, nowhere else.
  assert.deepEqual(grants((await json('get', 'role', 'tide-operator', '-n', ns)).rules), grants(OPERATOR_NAMESPACE_RULES));
  for (const rule of OPERATOR_NAMESPACE_RULES) {
    // kubectl auth can-i names a subresource by flag: consolidationplans/status → --subresource=status.
    const [plural, subresource] = rule.resources[0]!.split('/');
    const resource = rule.apiGroups[0] ? `${plural}.${rule.apiGroups[0]}` : plural!;
    const sub = subresource ? [`--subresource=${subresource}`] : [];
    for (const verb of rule.verbs) {
      assert.equal(await can(verb, resource, ...sub, '-n', ns), 'yes', `${verb} ${rule.resources[0]} in ${ns}`);
      assert.equal(await can(verb, resource, ...sub, '-n', 'default'), 'no', `${verb} ${rule.resources[0]} in default`);
      assert.equal(await can(verb, resource, ...sub, '--all-namespaces'), 'no', `${verb} ${rule.resources[0]} cluster-wide`);
    }
  }
  assert.equal(await can('get', 'secrets', '-n', ns), OPERATOR_NAMESPACE_RULES.some((r) => r.resources.includes('secrets') && r.verbs.includes('get')) ? 'yes' : 'no');
  assert.equal(await can('delete', 'secrets', '-n', ns), 'no');
  // A token for that ServiceAccount can be minted (what later tests run the operator with).
  const token = (await server.kubectlOk(['create', 'token', 'tide-operator', '-n', ns])).trim();
  assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);

  // Upgrade: the zigbee agent (MQTT) on, one replica without leader election, numeric quantities.
  const upgrade = values('upgrade', {
    operator: { replicas: 1, leaderElect: false, resources: { requests: { cpu: 0.2, memory: '200Mi' }, limits: { cpu: 1, memory: 536870912 } }, podLabels: { team: 'infra' } },
    zigbeeAgent: { enabled: true, source: 'mqtt', mqtt: { url: 'mqtt://broker:1883' } },
    imagePullSecrets: [{ name: 'regcred' }],
  });
  assert.match(await server.helmOk(['upgrade', 'tide', CHART, '-n', ns, '-f', upgrade, '--wait=false']), /STATUS: deployed/);
  const upgraded = await json('get', 'deployment', 'tide-operator', '-n', ns);
  assert.equal(upgraded.spec.replicas, 1);
  const container = upgraded.spec.template.spec.containers[0];
  assert.ok(container.args.includes('--no-leader-elect'), container.args.join(' '));
  // The real server stores quantities in canonical form, numbers as decimal strings.
  assert.deepEqual(container.resources, { requests: { cpu: '200m', memory: '200Mi' }, limits: { cpu: '1', memory: '536870912' } });
  assert.equal(upgraded.spec.template.metadata.labels.team, 'infra');
  assert.deepEqual(upgraded.spec.template.spec.imagePullSecrets, [{ name: 'regcred' }]);
  assert.equal(upgraded.metadata.generation, 2);
  await json('get', 'deployment', 'tide-zigbee-agent', '-n', ns);
  await json('get', 'serviceaccount', 'tide-zigbee-agent', '-n', ns);
  await json('get', 'clusterrole', 'tide-zigbee-agent');
  const history = JSON.parse(await server.helmOk(['history', 'tide', '-n', ns, '-o', 'json']));
  assert.deepEqual(history.map((h: any) => [h.revision, h.status]), [[1, 'superseded'], [2, 'deployed']]);

  // Uninstall removes what the templates made; the CRDs stay (Helm never deletes crds/), and so
  // do the custom resources in them.
  await server.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'tide.dev/v1alpha1', kind: 'PhysicalHost', metadata: { name: 'kept' }, spec: { address: '10.0.0.1', capacity: { cpuCores: 1, memoryMiB: 512 } } }) });
  assert.match(await server.helmOk(['uninstall', 'tide', '-n', ns, '--wait']), /release "tide" uninstalled/);
  for (const [kind, name] of [['deployment', 'tide-operator'], ['deployment', 'tide-zigbee-agent'], ['serviceaccount', 'tide-operator'], ['service', 'tide-operator-metrics']]) {
    assert.equal((await server.kubectl(['get', kind!, name!, '-n', ns])).code, 1, `${kind}/${name} left behind`);
  }
  assert.equal((await server.kubectl(['get', 'role', 'tide-operator', '-n', ns])).code, 1, 'role/tide-operator left behind');
  for (const name of ['tide-view', 'tide-edit']) assert.equal((await server.kubectl(['get', 'clusterrole', name])).code, 1, `clusterrole/${name} left behind`);
  for (const name of ['tide-operator', 'tide-zigbee-agent']) {
    assert.equal((await server.kubectl(['get', 'clusterrole', name])).code, 1, `clusterrole/${name} left behind`);
    assert.equal((await server.kubectl(['get', 'clusterrolebinding', name])).code, 1, `clusterrolebinding/${name} left behind`);
  }
  for (const crd of CRDS) await json('get', 'crd', crd);
  await json('get', 'physicalhost', 'kept');
  assert.equal((await server.helm(['status', 'tide', '-n', ns])).code, 1);
});

realTest('two releases side by side: names and ClusterRoles do not collide', async () => {
  await server.helmOk(['install', 'power', CHART, '-n', 'power-a', '--create-namespace', '--wait=false']);
  await server.helmOk(['install', 'tide-b', CHART, '-n', 'power-b', '--create-namespace', '--wait=false', '--set', 'zigbeeAgent.enabled=true']);
  await json('get', 'deployment', 'power-tide-operator', '-n', 'power-a');
  await json('get', 'deployment', 'tide-b-operator', '-n', 'power-b');
  await json('get', 'clusterrole', 'power-tide-operator');
  await json('get', 'clusterrole', 'tide-b-zigbee-agent');
  await server.helmOk(['uninstall', 'power', '-n', 'power-a', '--wait']);
  await server.helmOk(['uninstall', 'tide-b', '-n', 'power-b', '--wait']);
});


realTest("people: tide-view and tide-edit are aggregated into Kubernetes' view and edit (by kube-controller-manager), so a viewer reads Tide's resources and an editor manages a namespace's placements, not hosts", async () => {
  const ns = 'tide-people';
  await server.helmOk(['install', 'tide', CHART, '-n', ns, '--create-namespace', '--wait=false']);
  for (const team of ['team-a', 'team-b']) await server.kubectlOk(['create', 'namespace', team]);
  const bindings = [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'alice-views' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }] },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'bob-edits', namespace: 'team-a' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'bob' }] },
  ];
  await server.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: bindings }) });
  const as = (user: string, ...args: string[]) => server.kubectl([...args, `--as=${user}`]);
  const placement = (namespace: string) => JSON.stringify({ apiVersion: 'tide.dev/v1alpha1', kind: 'VirtualMachinePlacement', metadata: { name: 'web', namespace }, spec: { domain: `web-${namespace}` } });
  await server.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'tide.dev/v1alpha1', kind: 'PhysicalHost', metadata: { name: 'node1' }, spec: { address: '10.0.0.1', capacity: { cpuCores: 4, memoryMiB: 4096 } } }) });

  // The aggregation controller copies the rules into view and edit a moment after the install.
  await waitFor('view to hold the rules of tide-view', async () => (await as('alice', 'get', 'physicalhosts')).code === 0, 30_000, 200);
  const view = await json('get', 'clusterrole', 'view');
  assert.ok(view.rules.some((r: any) => r.apiGroups.includes('tide.dev') && r.resources.includes('physicalhosts')), 'view holds the tide.dev rules');
  assert.match((await as('alice', 'get', 'physicalhost', 'node1', '-o', 'name')).stdout, /physicalhost.tide.dev\/node1/);
  assert.equal((await as('alice', 'get', 'virtualmachineplacements', '-A')).code, 0);
  assert.notEqual((await server.kubectl(['apply', '-f', '-', '--as=alice'], { input: placement('team-a') })).code, 0, 'a viewer creates nothing');

  await waitFor('edit to hold the rules of tide-edit', async () => (await server.kubectl(['apply', '-f', '-', '--as=bob'], { input: placement('team-a') })).code === 0, 30_000, 200);
  assert.equal((await as('bob', 'get', 'virtualmachineplacement', 'web', '-n', 'team-a')).code, 0, 'an editor reads what it made');
  assert.equal((await as('bob', 'delete', 'virtualmachineplacement', 'web', '-n', 'team-a')).code, 0, 'and deletes it');
  const elsewhere = await server.kubectl(['apply', '-f', '-', '--as=bob'], { input: placement('team-b') });
  assert.match(elsewhere.stderr, /forbidden/, 'not in a namespace it may not edit');
  assert.match((await as('bob', 'delete', 'physicalhost', 'node1')).stderr, /forbidden/, 'hosts stay with the administrators');
  assert.equal((await as('bob', 'auth', 'can-i', 'update', 'physicalhosts.tide.dev')).stdout.trim(), 'no');

  await server.kubectlOk(['delete', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: bindings }) });
  await server.kubectlOk(['delete', 'physicalhost', 'node1']);
  await server.helmOk(['uninstall', 'tide', '-n', ns, '--wait']);
});
