/**
 * The kubectl install paths of docs/install.md on a real kube-apiserver: the CRDs and the
 * examples applied, `kubectl apply -k manifests/` whole, `kubectl explain` on the CRDs, the CEL
 * and schema rules refusing bad objects with the real server's own messages, and `kubectl wait`
 * on a Tide condition set through the status subresource.
 *
 * The server is shared with the other real-tier files: Tide's resources are cluster-scoped
 * (PhysicalHost, ConsolidationPolicy) or namespaced (VirtualMachinePlacement); what this file
 * creates it deletes, and namespaced objects go into fresh namespaces.
 */
import { before } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { GROUP, RESOURCES } from '../../src/api/crds.ts';
import { OPERATOR_NAMESPACE_RULES, OPERATOR_RULES } from '../../src/controller/permissions.ts';
import { assertExplainedFieldsDescribed } from '../api/field-descriptions.ts';
import { REAL_KUBE, ROOT, realTest, startRealApiServer, type RealApiServer } from './envtest.ts';

let server: RealApiServer;
const CRDS = RESOURCES.map((r) => `${r.plural}.${GROUP}`);

before(async () => {
  if (!REAL_KUBE.enabled) return;
  server = await startRealApiServer();
  await server.kubectlOk(['apply', '--server-side', '-f', join(ROOT, 'manifests/crds/')]);
  await server.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', ...CRDS.map((c) => `crd/${c}`)]);
});

const json = async (...args: string[]) => JSON.parse(await server.kubectlOk([...args, '-o', 'json']));
const applyJson = (obj: unknown, ...args: string[]) => server.kubectl(['apply', ...args, '-f', '-'], { input: JSON.stringify(obj) });
const host = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'tide.dev/v1alpha1', kind: 'PhysicalHost', metadata: { name }, spec });
const policy = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'tide.dev/v1alpha1', kind: 'ConsolidationPolicy', metadata: { name }, spec });
const okHost = (name: string) => host(name, { address: '10.0.0.9', capacity: { cpuCores: 4, memoryMiB: 1024 } });

realTest('the CRDs are accepted as generated, served with their short names, categories and structural schemas', async () => {
  for (const crd of CRDS) {
    const c = await json('get', 'crd', crd);
    const conditions = Object.fromEntries(c.status.conditions.map((x: any) => [x.type, x.status]));
    assert.equal(conditions.Established, 'True', crd);
    assert.equal(conditions.NamesAccepted, 'True', crd);
    assert.equal(conditions.NonStructuralSchema, undefined, `${crd}: the real server finds the schema non-structural`);
    assert.equal(conditions.KubernetesAPIApprovalPolicyConformant, undefined, crd);
  }
  const resources = await server.kubectlOk(['api-resources', '--api-group=tide.dev', '--no-headers']);
  assert.match(resources, /^physicalhosts\s+ph\s+tide\.dev\/v1alpha1\s+false\s+PhysicalHost$/m);
  assert.match(resources, /^consolidationpolicies\s+conspol\s+tide\.dev\/v1alpha1\s+false\s+ConsolidationPolicy$/m);
  assert.match(resources, /^virtualmachineplacements\s+vmp\s+tide\.dev\/v1alpha1\s+true\s+VirtualMachinePlacement$/m);
  assert.match(resources, /^virtualmachinemigrations\s+vmm\s+tide\.dev\/v1alpha1\s+true\s+VirtualMachineMigration$/m);
  assert.match(resources, /^consolidationplans\s+cplan\s+tide\.dev\/v1alpha1\s+true\s+ConsolidationPlan$/m);
  // Each CRD file in manifests/crds/ is exactly one CRD and re-applies unchanged.
  const files = readdirSync(join(ROOT, 'manifests/crds')).filter((f) => f.endsWith('.yaml'));
  assert.equal(files.length, CRDS.length);
  const again = await server.kubectlOk(['apply', '-f', join(ROOT, 'manifests/crds/')]);
  for (const line of again.trim().split('\n')) assert.match(line, /(unchanged|configured)$/, line);
});

realTest('kubectl explain reads the CRD schemas from the real server', async () => {
  const power = await server.kubectlOk(['explain', 'physicalhosts.spec.power']);
  assert.match(power, /^KIND:\s+PhysicalHost$/m);
  assert.match(power, /^GROUP:\s+tide\.dev$/m);
  assert.match(power, /onMethod\s+<string>/);
  assert.match(power, /wakeOnLAN\s+<Object>/);
  const recursive = await server.kubectlOk(['explain', 'consolidationpolicy.spec', '--recursive']);
  for (const field of ['overloadThresholdPercent', 'consolidationThresholdPercent', 'balanceThresholdPercent', 'evaluationInterval', 'timeZone']) assert.match(recursive, new RegExp(`\\b${field}\\b`), field);
  const vmp = await server.kubectlOk(['explain', 'vmp.spec.domain']);
  assert.match(vmp, /FIELD:\s+domain <string>/);
});

realTest('kubectl explain --recursive: every field of every Tide resource, as the real server publishes it, has a description', () =>
  assertExplainedFieldsDescribed((args) => server.kubectlOk(args)));

realTest('the paper example and the GitOps example apply as the README says, with the schema defaults filled in', async () => {
  const paper = join(ROOT, 'manifests/examples/paper/');
  const out = await server.kubectlOk(['apply', '-f', paper]);
  assert.ok(out.trim().split('\n').length >= 12, out);
  try {
    assert.deepEqual((await server.kubectlOk(['get', 'ph', '-o', 'name'])).trim().split('\n').filter((n) => /node[12]00$/.test(n)), ['physicalhost.tide.dev/node100', 'physicalhost.tide.dev/node200']);
    assert.equal((await server.kubectlOk(['get', 'vmp', '-n', 'paper', '--no-headers'])).trim().split('\n').length, 8);
    const p = await json('get', 'consolidationpolicy', 'default');
    assert.equal(p.spec.timeZone, 'UTC', 'default filled in by the real server');
    assert.equal(p.metadata.generation, 1);
    const table = await server.kubectlOk(['get', 'physicalhosts']);
    assert.match(table.split('\n')[0]!, /^NAME\s+POWER\s+LOAD %\s+WATTS\s+VMS\s+READY\s+AGE$/);
    const again = await server.kubectlOk(['apply', '-f', paper]);
    for (const line of again.trim().split('\n')) assert.match(line, / unchanged$/, `re-apply changed something: ${line}`);
    // The GitOps example replaces the paper's policy (same name "default"): apply it on top.
    await server.kubectlOk(['apply', '-k', join(ROOT, 'manifests/examples/gitops')]);
    const gitops = await json('get', 'consolidationpolicy', 'default');
    assert.equal(gitops.spec.timeZone, 'Europe/Berlin');
    assert.equal(gitops.spec.migrationCooldown, '30m', 'schema default');
  } finally {
    await server.kubectlOk(['delete', '-f', paper, '--ignore-not-found', '--timeout=60s']);
  }
  assert.equal((await server.kubectl(['get', 'namespace', 'paper'])).code, 1, 'the paper namespace is deleted (by kube-controller-manager)');
});

realTest('the Tide resources shown in docs/install.md pass a server-side dry run', async () => {
  const text = readFileSync(join(ROOT, 'docs/install.md'), 'utf8');
  const examples = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)]
    .flatMap((m) => parseAllDocuments(m[1]!).map((d) => d.toJS()))
    .filter((o: any) => o?.apiVersion?.startsWith('tide.dev/'));
  assert.deepEqual(examples.map((o: any) => o.kind).sort(), ['ConsolidationPolicy', 'PhysicalHost', 'VirtualMachinePlacement']);
  for (const o of examples) {
    const r = await applyJson(o, '--dry-run=server');
    assert.equal(r.code, 0, `${o.kind}: ${r.stderr}`);
    assert.match(r.stdout, /\(server dry run\)/);
  }
});

/** The real server's refusal of `obj`: kubectl's stderr, which must not be empty. */
async function refusal(obj: unknown, ...args: string[]): Promise<string> {
  const r = await applyJson(obj, ...args);
  assert.notEqual(r.code, 0, `accepted: ${JSON.stringify(obj)}`);
  return r.stderr.trim();
}

realTest('CEL and schema rules refuse bad objects, in the real server\'s words', async () => {
  // The rules of src/api, with the exact messages kube-apiserver gives kubectl (the embedded
  // server is held to the same words in test/kube/paper-manifests.test.ts).
  assert.equal(
    await refusal(policy('inverted', { overloadThresholdPercent: 70, consolidationThresholdPercent: 90 })),
    'The ConsolidationPolicy "inverted" is invalid: spec.consolidationThresholdPercent: Invalid value: consolidationThresholdPercent must not exceed overloadThresholdPercent, or consolidating would overload the remaining hosts',
  );
  assert.equal(
    await refusal(host('no-mac', { address: '10.0.0.9', capacity: { cpuCores: 4, memoryMiB: 1024 }, power: { onMethod: 'WakeOnLAN' } })),
    'The PhysicalHost "no-mac" is invalid: spec.power.wakeOnLAN: Required value: wakeOnLAN.macAddress is required when onMethod is WakeOnLAN',
  );
  assert.equal(
    await refusal(policy('too-high', { overloadThresholdPercent: 150 })),
    'The ConsolidationPolicy "too-high" is invalid: spec.overloadThresholdPercent: Invalid value: 150: spec.overloadThresholdPercent in body should be less than or equal to 100',
  );
  // When the schema refuses a field, kube-apiserver skips the CEL rules and says so, in a second
  // line the embedded server does not print.
  assert.equal(
    await refusal(host('no-capacity', { address: '10.0.0.9', capacity: { memoryMiB: 1024 } })),
    'The PhysicalHost "no-capacity" is invalid: \n' +
      '* spec.capacity.cpuCores: Required value\n' +
      '* <nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation',
  );
  assert.match(await refusal(host('bad-mac', { address: '10.0.0.9', capacity: { cpuCores: 4, memoryMiB: 1024 }, power: { onMethod: 'WakeOnLAN', wakeOnLAN: { macAddress: '52:54:00' } } })), /spec\.power\.wakeOnLAN\.macAddress: Invalid value: "52:54:00": spec\.power\.wakeOnLAN\.macAddress in body should match/);
  assert.match(await refusal(host('hostile', { address: 'h1; rm -rf /', capacity: { cpuCores: 4, memoryMiB: 1024 } })), /spec\.address: Invalid value: "h1; rm -rf \/"/);
  // kubectl asks for fieldValidation=Strict: a misspelt field is an error.
  assert.match(await refusal(host('typo', { address: '10.0.0.9', capacity: { cpuCores: 4, memoryMiB: 1024 }, standbyAlowed: true })), /strict decoding error: unknown field "spec\.standbyAlowed"/);
  // A valid one goes through, so the refusals above are about the rules.
  const ok = await applyJson(host('with-mac', { address: '10.0.0.9', capacity: { cpuCores: 4, memoryMiB: 1024 }, power: { onMethod: 'WakeOnLAN', wakeOnLAN: { macAddress: '52:54:00:00:09:00' } } }), '--dry-run=server');
  assert.equal(ok.code, 0, ok.stderr);
});

realTest('kubectl wait --for=condition=Ready sees a Tide condition set through the status subresource', async () => {
  const name = `wait-${Date.now().toString(36)}`;
  await server.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(okHost(name)) });
  try {
    const waiting = server.kubectl(['wait', `physicalhost/${name}`, '--for=condition=Ready', '--timeout=60s']);
    await new Promise((r) => setTimeout(r, 500));
    const status = { status: { powerState: 'On', conditions: [{ type: 'Ready', status: 'True', reason: 'Observed', message: 'libvirt answered', lastTransitionTime: '2026-11-25T22:00:00Z' }] } };
    await server.kubectlOk(['patch', 'physicalhost', name, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
    const r = await waiting;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /condition met/);
    // A status condition the schema refuses (reason must be CamelCase) is refused on /status too.
    const bad = await server.kubectl(['patch', 'physicalhost', name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { conditions: [{ ...status.status.conditions[0], reason: 'not ok' }] } })]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /status\.conditions\[0\]\.reason: Invalid value: "not ok"/);
    const h = await json('get', 'physicalhost', name);
    assert.equal(h.metadata.generation, 1, 'status writes leave the generation alone');
    assert.match(await server.kubectlOk(['get', 'ph', name, '--no-headers']), new RegExp(`^${name}\\s+On\\s+.*True`));
  } finally {
    await server.kubectlOk(['delete', 'physicalhost', name, '--ignore-not-found']);
  }
});

realTest('kubectl apply -k manifests/ installs the whole of it on the real server, and delete -k removes it', async () => {
  const out = await server.kubectlOk(['apply', '--server-side', '-k', join(ROOT, 'manifests/')]);
  for (const kind of ['namespace/tide-system', 'serviceaccount/tide-operator', 'clusterrole.rbac.authorization.k8s.io/tide-operator', 'clusterrolebinding.rbac.authorization.k8s.io/tide-operator', 'deployment.apps/tide-operator', 'service/tide-operator-metrics']) {
    assert.match(out, new RegExp(`^${kind.replaceAll('.', '\\.')} serverside-applied$`, 'm'), out);
  }
  const deployment = await json('get', 'deployment', 'tide-operator', '-n', 'tide-system');
  assert.equal(deployment.spec.replicas, 2);
  // Defaults only a real server fills in, on the objects as stored.
  assert.equal(deployment.spec.strategy.type, 'RollingUpdate');
  assert.equal(deployment.spec.template.spec.containers[0].terminationMessagePath, '/dev/termination-log');
  const ns = await json('get', 'namespace', 'tide-system');
  assert.equal(ns.metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted');
  // The operator's pod template meets Pod Security "restricted" as the real admission plugin
  // judges it: a server-side dry run of a pod from it in that namespace is admitted.
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'tide-operator-check', namespace: 'tide-system' }, spec: deployment.spec.template.spec };
  const admitted = await server.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: JSON.stringify(pod) });
  assert.equal(admitted.code, 0, admitted.stderr);
  assert.doesNotMatch(admitted.stderr, /violate PodSecurity/);
  // The ClusterRole and the Role in tide-system are what the real authorizer holds the operator's
  // ServiceAccount to: every call of permissions.ts allowed, and calls it does not list refused.
  const can = (verb: string, resource: string, ...more: string[]) =>
    server.kubectl(['auth', 'can-i', verb, resource, ...more, '--as=system:serviceaccount:tide-system:tide-operator']).then((r) => r.stdout.trim());
  for (const rule of [...OPERATOR_RULES, ...OPERATOR_NAMESPACE_RULES]) {
    for (const group of rule.apiGroups) {
      for (const res of rule.resources) {
        const [plural, sub] = res.split('/');
        const resource = group ? `${plural}.${group}` : plural!;
        for (const verb of rule.verbs) assert.equal(await can(verb, resource, '-n', 'tide-system', ...(sub ? [`--subresource=${sub}`] : [])), 'yes', `${verb} ${res} (${group || 'core'})`);
      }
    }
  }
  assert.equal(await can('delete', 'physicalhosts.tide.dev'), 'no');
  assert.equal(await can('create', 'pods', '-n', 'tide-system'), 'no');
  assert.equal(await can('delete', 'secrets', '-n', 'tide-system'), 'no');
  assert.equal(await can('list', 'secrets', '-n', 'default'), 'no', 'Secrets only in tide-system');
  assert.equal(await can('update', 'leases.coordination.k8s.io', '-n', 'default'), 'no', 'the Lease only in tide-system');
  assert.equal(await can('list', 'nodes'), 'no');
  await server.kubectlOk(['delete', '-k', join(ROOT, 'manifests/install'), '--timeout=120s']);
  assert.equal((await server.kubectl(['get', 'namespace', 'tide-system'])).code, 1);
});

