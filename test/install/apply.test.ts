/**
 * The rendered install applied with the real kubectl to the embedded API server
 * (src/kube/apiserver), as an operator would apply it to a cluster. The embedded server stores
 * Deployments, Services and RBAC objects without checking their fields, so every object is also
 * held to the real API's field schemas (shape.ts). The GitOps example is applied whole, and what
 * the operator would make of it is computed from what the server stored.
 */
import { after, before, test } from 'node:test';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { plannerPolicy } from '../../src/controller/policy.ts';
import type { ConsolidationPolicySpec } from '../../src/api/types.ts';
import { startHarness, type KubeHarness } from '../kube/harness.ts';
import { chartSkip, kustomizeWithZigbeeAgent, parseObjects, renderChart, ROOT, type K8sObject } from './render.ts';
import { hasModel, shapeProblems } from './shape.ts';

let h: KubeHarness;
before(async () => {
  h = await startHarness();
});
after(async () => h?.close());

/** "apiVersion/Kind" of everything the server serves, from its discovery as kubectl sees it. */
async function servedKinds(): Promise<Set<string>> {
  const table = await h.kubectlOk(['api-resources', '--no-headers']);
  return new Set(table.trim().split('\n').map((line) => {
    const cols = line.trim().split(/\s+/);
    return `${cols.at(-3)}/${cols.at(-1)}`;
  }));
}

const kindKey = (o: K8sObject) => `${o.apiVersion}/${o.kind}`;
// A stream of JSON objects rather than YAML written back: kubectl reads YAML 1.1, where an
// unquoted On or Off is a boolean.
const asJsonStream = (objects: K8sObject[]) => objects.map((o) => JSON.stringify(o)).join('\n');

test('kubectl applies every object the server serves; the rest have the real API shape', async (t) => {
  const objects = await kustomizeWithZigbeeAgent();
  const served = await servedKinds();
  const [applicable, shapeOnly] = [objects.filter((o) => served.has(kindKey(o))), objects.filter((o) => !served.has(kindKey(o)))];
  t.diagnostic(`applied: ${[...new Set(applicable.map((o) => o.kind))].join(', ')}; shape-checked: ${[...new Set(shapeOnly.map((o) => o.kind))].join(', ')}`);
  assert.ok(applicable.some((o) => o.kind === 'CustomResourceDefinition') && applicable.some((o) => o.kind === 'Namespace'));

  const out = await h.kubectlOk(['apply', '-f', '-'], { input: asJsonStream(applicable) });
  assert.equal(out.trim().split('\n').filter((l) => / (created|unchanged|configured)$/.test(l)).length, applicable.length, out);
  await h.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', ...applicable.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => `crd/${o.metadata.name}`)]);
  const ns = JSON.parse(await h.kubectlOk(['get', 'namespace', 'tide-system', '-o', 'json']));
  assert.equal(ns.metadata.labels['app.kubernetes.io/part-of'], 'tide');

  // The chart's objects too when real helm is there (the real tier).
  const chart = chartSkip ? [] : await renderChart({ zigbeeAgent: { enabled: true }, podDisruptionBudget: { enabled: true } });
  const modelled = [...objects, ...chart].filter((o) => o.kind !== 'CustomResourceDefinition' && o.kind !== 'Namespace');
  const unchecked = [...shapeOnly, ...chart].filter((o) => !hasModel(o));
  assert.deepEqual(unchecked.map(kindKey), []);
  assert.deepEqual(modelled.filter(hasModel).flatMap(shapeProblems), []);
});

test('kubectl apply -k manifests/ applies the whole install, and delete -k removes it', async () => {
  const out = await h.kubectlOk(['apply', '-k', `${ROOT}/manifests/`]);
  for (const kind of ['namespace/tide-system', 'serviceaccount/tide-operator', 'clusterrole.rbac.authorization.k8s.io/tide-operator', 'clusterrolebinding.rbac.authorization.k8s.io/tide-operator', 'deployment.apps/tide-operator']) {
    assert.match(out, new RegExp(`^${kind.replaceAll('.', '\\.')} (created|unchanged|configured)$`, 'm'), out);
  }
  const deployment = JSON.parse(await h.kubectlOk(['get', 'deployment', 'tide-operator', '-n', 'tide-system', '-o', 'json']));
  assert.equal(deployment.spec.replicas, 2);
  await h.kubectlOk(['delete', '-k', `${ROOT}/manifests/`, '--wait=false']);
});

test('the shape check has teeth: a misspelt field or a wrong type is refused', async () => {
  const [deployment] = (await kustomizeWithZigbeeAgent()).filter((o) => o.kind === 'Deployment');
  const broken = structuredClone(deployment!) as any;
  broken.spec.template.spec.containers[0].readinessprobe = broken.spec.template.spec.containers[0].readinessProbe;
  broken.spec.replicas = '2';
  assert.deepEqual(shapeProblems(broken), [
    'Deployment/tide-operator: /spec/replicas must be integer',
    "Deployment/tide-operator: /spec/template/spec/containers/0 must NOT have additional properties 'readinessprobe'",
  ]);
});

/** What `tide run` makes of the stored policy at an instant: may it consolidate then? */
async function consolidatesAt(iso: string): Promise<boolean> {
  const stored = JSON.parse(await h.kubectlOk(['get', 'consolidationpolicy', 'default', '-o', 'json']));
  return plannerPolicy(stored.spec as ConsolidationPolicySpec, Date.parse(iso)).consolidationAllowed;
}

test('GitOps example: kubectl apply -k; Tide consolidates only at night and at weekends, Berlin time', async () => {
  await h.kubectlOk(['apply', '-f', `${ROOT}/manifests/crds`]);
  await h.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', 'crd/consolidationpolicies.tide.dev']);
  await h.kubectlOk(['apply', '-k', `${ROOT}/manifests/examples/gitops`]);
  const stored = JSON.parse(await h.kubectlOk(['get', 'consolidationpolicy', 'default', '-o', 'json']));
  assert.equal(stored.metadata.generation, 1);
  assert.equal(stored.spec.migrationCooldown, '30m', 'schema defaults filled in by the server');
  // November: Berlin is UTC+1.
  const expectations: Array<[string, string, boolean]> = [
    ['2026-11-25T12:00:00Z', 'Wed 13:00', false],
    ['2026-11-25T21:30:00Z', 'Wed 22:30', true],
    ['2026-11-26T04:30:00Z', 'Thu 05:30', true],
    ['2026-11-26T05:30:00Z', 'Thu 06:30', false],
    ['2026-11-28T12:00:00Z', 'Sat 13:00', true],
    ['2026-11-29T15:00:00Z', 'Sun 16:00', true],
    ['2026-11-30T02:00:00Z', 'Mon 03:00', true],
    ['2026-11-30T12:00:00Z', 'Mon 13:00', false],
  ];
  for (const [iso, berlin, allowed] of expectations) assert.equal(await consolidatesAt(iso), allowed, `${berlin} Berlin`);
});

test('GitOps example: a merged change (the window opens at 20:00) changes what Tide does', async () => {
  // What Argo CD or Flux does after the merge: apply the new revision of the same file.
  const changed = (await h.kubectlOk(['kustomize', `${ROOT}/manifests/examples/gitops`])).replace('start: "22:00"', 'start: "20:00"');
  assert.match(changed, /start: "20:00"/);
  assert.equal(await consolidatesAt('2026-11-25T20:00:00Z'), false, 'Wed 21:00 Berlin, before the change');
  await h.kubectlOk(['apply', '-f', '-'], { input: changed });
  const stored = JSON.parse(await h.kubectlOk(['get', 'consolidationpolicy', 'default', '-o', 'json']));
  assert.equal(stored.metadata.generation, 2);
  assert.equal(await consolidatesAt('2026-11-25T20:00:00Z'), true, 'Wed 21:00 Berlin, after the change');
  assert.equal(await consolidatesAt('2026-11-25T18:30:00Z'), false, 'Wed 19:30 Berlin, still peak');
});

/** The YAML examples of a Markdown file, as objects. */
function yamlExamples(file: string): K8sObject[] {
  const text = readFileSync(`${ROOT}/${file}`, 'utf8');
  return [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].flatMap((m, i) => parseObjects(m[1]!, `${file}, yaml block ${i + 1}`));
}

test('the Tide resources shown in docs/install.md are valid against the CRDs', async () => {
  await h.kubectlOk(['apply', '-f', `${ROOT}/manifests/crds`]);
  await h.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', 'crd/physicalhosts.tide.dev', 'crd/consolidationpolicies.tide.dev', 'crd/virtualmachineplacements.tide.dev']);
  const examples = yamlExamples('docs/install.md').filter((o) => o.apiVersion?.startsWith('tide.dev/'));
  assert.deepEqual(examples.map((o) => o.kind).sort(), ['ConsolidationPolicy', 'PhysicalHost', 'VirtualMachinePlacement']);
  for (const o of examples) assert.match(await h.kubectlOk(['apply', '--dry-run=server', '-f', '-'], { input: JSON.stringify(o) }), /(created|configured) \(server dry run\)/);
  assert.equal((await h.kubectlOk(['get', 'ph', '-o', 'name'])).trim(), '', 'a dry run stores nothing');
  // And the dry run does refuse a broken one.
  const broken = structuredClone(examples.find((o) => o.kind === 'PhysicalHost')!) as any;
  broken.spec.power.wakeOnLAN.macAddress = '52:54:00';
  const r = await h.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: JSON.stringify(broken) });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /macAddress/);
});

test('the uninstall commands of docs/install.md do what it says, with the real kubectl', async () => {
  const docs = readFileSync(`${ROOT}/docs/install.md`, 'utf8');
  const quoted = (re: RegExp) => {
    const m = re.exec(docs);
    assert.ok(m, `docs/install.md: no line matching ${re}`);
    return m[1]!;
  };
  const standbyPatch = quoted(/kubectl patch \{\} --type=merge -p '([^']+)'/);
  const columns = quoted(/^kubectl get ph -o (custom-columns=\S+)$/m);
  const offHosts = quoted(/^kubectl get ph -o jsonpath='([^']+)'$/m);
  const waitFor = quoted(/^kubectl wait ph --all --for=(jsonpath=\S+) /m).replaceAll("'", ''); // as the shell passes it

  await h.kubectlOk(['apply', '-f', `${ROOT}/manifests/crds`]);
  await h.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', 'crd/physicalhosts.tide.dev']);
  await h.kubectlOk(['apply', '-f', `${ROOT}/manifests/examples/paper/hosts.yaml`]);
  const setStatus = (name: string, status: object) => h.kubectlOk(['patch', 'ph', name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
  await setStatus('node100', { powerState: 'On', powerAction: { id: 'a1', type: 'PowerOff', phase: 'Running', reason: 'Consolidate', message: 'emptied', startedAt: '2026-11-25T22:00:00Z' } });
  await setStatus('node200', { powerState: 'Off' });

  for (const name of (await h.kubectlOk(['get', 'ph', '-o', 'name'])).trim().split('\n')) await h.kubectlOk(['patch', name, '--type=merge', '-p', standbyPatch]);
  assert.equal(await h.kubectlOk(['get', 'ph', '-o', 'jsonpath={.items[*].spec.standbyAllowed}']), 'false false');

  const table = await h.kubectlOk(['get', 'ph', '-o', columns]);
  assert.match(table, /^node100\s+On\s+PowerOff\s+Running$/m);
  assert.equal(await h.kubectlOk(['get', 'ph', '-o', `jsonpath=${offHosts}`]), 'node200\tWakeOnLAN\t52:54:00:00:02:00\t\n');

  const waiting = h.kubectl(['wait', 'ph', '--all', `--for=${waitFor}`, '--timeout=60s']);
  await setStatus('node200', { powerState: 'On' });
  const waited = await waiting;
  assert.equal(waited.code, 0, waited.stderr);
});
