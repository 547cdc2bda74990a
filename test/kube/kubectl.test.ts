/**
 * The development API server held to the real kubectl (v1.32 on PATH) with a CRD of the test
 * suite's own (fixtures/widgets-crd.yaml): registration, apply/get/patch/edit/wait/delete,
 * validation messages, conflicts, built-in resources. Every test runs on both tiers (the
 * embedded server and a real kube-apiserver), so each claim is one the real server makes too.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, fixture, serverTiers, untilWatching, type KubeTarget, type ServerTier } from './harness.ts';

for (const tier of serverTiers()) describe(tier.name, { skip: tier.skip }, () => suite(tier));

function suite(tier: ServerTier): void {
  let h: KubeTarget;

  before(async () => {
    h = await tier.start();
    await h.applyCrds(fixture('widgets-crd.yaml'));
  });
  after(async () => h?.close());

  /** A fresh namespace per test keeps tests independent on one server. */
  async function namespace(name: string): Promise<string> {
    await h.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }) });
    return name;
  }

  const widget = (name: string, spec: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ apiVersion: 'example.tide.dev/v1', kind: 'Widget', metadata: { name, ...extra }, spec });

  const getJson = async (...args: string[]) => JSON.parse(await h.kubectlOk(['get', ...args, '-o', 'json']));

  test('an applied CRD is served: discovery shows its short name, scope and category', async () => {
    const crds = await h.kubectlOk(['get', 'crd']);
    assert.match(crds, /widgets\.example\.tide\.dev/);
    const established = await getJson('crd', 'widgets.example.tide.dev');
    assert.equal(established.status.conditions.find((c: any) => c.type === 'Established').status, 'True');
    const resources = await h.kubectlOk(['api-resources', '--api-group=example.tide.dev', '--no-headers']);
    assert.match(resources, /^widgets\s+wdg\s+example\.tide\.dev\/v1\s+true\s+Widget$/m);
    await h.kubectlOk(['wait', '--for=condition=Established', 'crd/widgets.example.tide.dev', '--timeout=20s']);
  });

  test('apply then get shows the printer columns; get -o yaml shows defaults and server metadata', async () => {
    const ns = await namespace('t-get');
    await h.kubectlOk(['apply', '-n', ns, '-f', fixture('widget-small.yaml')]);
    const table = await h.kubectlOk(['get', 'wdg', '-n', ns]);
    const [header, row] = table.trim().split('\n');
    assert.match(header!, /^NAME\s+SIZE\s+COLOR\s+READY\s+AGE$/);
    assert.match(row!, /^small\s+3\s+Red\s+\d+s$/);
    const yaml = await h.kubectlOk(['get', 'widget', 'small', '-n', ns, '-o', 'yaml']);
    assert.match(yaml, /^ {2}color: Red$/m, 'enum default applied');
    assert.match(yaml, /^ {4}ratio: 0\.5$/m, 'nested default applied inside a given object');
    assert.match(yaml, /^ {2}generation: 1$/m);
    assert.match(yaml, /^ {2}uid: [0-9a-f-]{36}$/m);
    // Categories reach the resource too, and label selectors filter.
    assert.match(await h.kubectlOk(['get', 'tide-test', '-n', ns, '-l', 'app=demo', '--no-headers']), /^small\s+3\s+Red/m);
    assert.match((await h.kubectl(['get', 'wdg', '-n', ns, '-l', 'app=other'])).stderr, /No resources found/);
  });

  test('spec patches bump the generation, status patches do not; strategic merge patch is refused with 415', async () => {
    const ns = await namespace('t-patch');
    await h.kubectlOk(['apply', '-n', ns, '-f', '-'], { input: widget('w', { size: 2 }) });
    await h.kubectlOk(['patch', 'wdg', 'w', '-n', ns, '--type=merge', '-p', '{"spec":{"size":4}}']);
    await h.kubectlOk(['patch', 'wdg', 'w', '-n', ns, '--type=json', '-p', '[{"op":"add","path":"/spec/tags","value":["a"]}]']);
    let w = await getJson('wdg', 'w', '-n', ns);
    assert.equal(w.spec.size, 4);
    assert.deepEqual(w.spec.tags, ['a']);
    assert.equal(w.metadata.generation, 3);

    await h.kubectlOk(['patch', 'wdg', 'w', '-n', ns, '--subresource=status', '--type=merge', '-p', '{"status":{"observedGeneration":3}}']);
    // Status written through the main resource is ignored, as on a real server.
    await h.kubectlOk(['patch', 'wdg', 'w', '-n', ns, '--type=merge', '-p', '{"status":{"observedGeneration":99}}']);
    w = await getJson('wdg', 'w', '-n', ns);
    assert.equal(w.status.observedGeneration, 3);
    assert.equal(w.metadata.generation, 3);

    const smp = await h.kubectl(['patch', 'wdg', 'w', '-n', ns, '--type=strategic', '-p', '{"spec":{"size":5}}']);
    assert.notEqual(smp.code, 0);
    assert.match(smp.stderr, /application\/strategic-merge-patch\+json is not supported/);
  });

  test('kubectl edit through KUBE_EDITOR changes the object', async () => {
    const ns = await namespace('t-edit');
    await h.kubectlOk(['apply', '-n', ns, '-f', '-'], { input: widget('w', { size: 7 }) });
    const editor = join(h.dir, 'editor.sh');
    writeFileSync(editor, `#!/bin/sh\nsed -i 's/size: 7/size: 9/' "$1"\n`);
    chmodSync(editor, 0o755);
    const out = await h.kubectlOk(['edit', 'wdg', 'w', '-n', ns], { env: { KUBE_EDITOR: editor } });
    assert.match(out, /widget\.example\.tide\.dev\/w edited/);
    const w = await getJson('wdg', 'w', '-n', ns);
    assert.equal(w.spec.size, 9);
    assert.equal(w.metadata.generation, 2);
  });

  test('kubectl wait sees a condition set later through the status subresource', async () => {
    const ns = await namespace('t-wait');
    await h.kubectlOk(['apply', '-n', ns, '-f', '-'], { input: widget('w', { size: 1 }) });
    const watchesBefore = await h.watchers('widgets');
    const waiting = h.kubectl(['wait', '--for=condition=Ready', 'wdg/w', '-n', ns, '--timeout=30s']);
    // Act only once kubectl watches, so the condition reaches it through the watch, not the list.
    await untilWatching(h, 'widgets', watchesBefore, 'kubectl wait to watch');
    const status = { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Done', message: 'ok', lastTransitionTime: '2026-01-01T00:00:00Z' }] } };
    await h.kubectlOk(['patch', 'wdg', 'w', '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
    const result = await waiting;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /condition met/);
    assert.match(await h.kubectlOk(['get', 'wdg', 'w', '-n', ns, '--no-headers']), /^w\s+1\s+Red\s+True\s/);
  });

  test('finalizers hold a deleted object (deletionTimestamp set) until they are removed', async () => {
    const ns = await namespace('t-final');
    await h.kubectlOk(['apply', '-n', ns, '-f', '-'], { input: widget('w', { size: 1 }, { finalizers: ['example.tide.dev/cleanup'] }) });
    await h.kubectlOk(['delete', 'wdg', 'w', '-n', ns, '--wait=false']);
    const held = await getJson('wdg', 'w', '-n', ns);
    assert.ok(held.metadata.deletionTimestamp, 'deletionTimestamp set');
    const watchesBefore = await h.watchers('widgets');
    const waiting = h.kubectl(['wait', '--for=delete', 'wdg/w', '-n', ns, '--timeout=30s']);
    await untilWatching(h, 'widgets', watchesBefore, 'kubectl wait to watch');
    await h.kubectlOk(['patch', 'wdg', 'w', '-n', ns, '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
    const result = await waiting;
    assert.equal(result.code, 0, result.stderr);
    const gone = await h.kubectl(['get', 'wdg', 'w', '-n', ns]);
    assert.match(gone.stderr, /widgets\.example\.tide\.dev "w" not found/);
  });

  test('invalid widgets are rejected with the field path in kubectl\'s message', async () => {
    const ns = await namespace('t-invalid');
    const reject = async (spec: Record<string, unknown>) => {
      const r = await h.kubectl(['apply', '-n', ns, '-f', '-'], { input: widget('bad', spec) });
      assert.notEqual(r.code, 0, `accepted ${JSON.stringify(spec)}`);
      return r.stderr;
    };
    assert.match(await reject({ size: 500 }), /spec\.size: Invalid value: 500: spec\.size in body should be less than or equal to 100/);
    assert.match(await reject({ size: 1, color: 'Blue' }), /spec\.color: Unsupported value: "Blue": supported values: "Red", "Green", "Custom"/);
    assert.match(await reject({ color: 'Red' }), /spec\.size: Required value/);
    assert.match(await reject({ size: 1, customColor: 'red' }), /spec\.customColor: Invalid value: "red": spec\.customColor in body should match/);
    assert.match(await reject({ size: 1, tags: ['a', 'b', 'c', 'd'] }), /spec\.tags: Too many: 4: must have at most 3 items/);
    assert.match(await reject({ size: 'big' }), /spec\.size: Invalid value: "string": spec\.size in body must be of type integer/);
    // CEL rules: one with a fieldPath, one on the object itself.
    assert.match(await reject({ size: 1, color: 'Custom' }), /spec\.customColor: Invalid value: a Custom color needs customColor/);
    assert.match(await reject({ size: 2, minSize: 3 }), /spec: Invalid value: minSize must not exceed size/);
    // kubectl asks for fieldValidation=Strict: unknown fields are an error, not silently dropped.
    assert.match(await reject({ size: 1, colour: 'Red' }), /strict decoding error: unknown field "spec\.colour"/);
    const badLabel = await h.kubectl(['apply', '-n', ns, '-f', '-'], { input: widget('bad', { size: 1 }, { labels: { tier: 'front end' } }) });
    assert.match(badLabel.stderr, /metadata\.labels: Invalid value: "front end": a valid label must be an empty string or consist of alphanumeric characters/);
    const huge = await h.kubectl(['apply', '-n', ns, '-f', '-'], { input: widget('bad', { size: 1 }, { annotations: { note: 'x'.repeat(300_000) } }) });
    assert.match(huge.stderr, /metadata\.annotations: Too long: may not be more than 262144 bytes/);
    assert.match((await h.kubectl(['get', 'wdg', 'bad', '-n', ns])).stderr, /not found/);
  });

  test('apply -f of a kind: List file: each item applied in turn; an unknown field refuses the whole file (OpenAPI v2)', async () => {
    const ns = await namespace('t-list');
    const out = await h.kubectlOk(['apply', '-n', ns, '-f', fixture('widget-list.yaml')]);
    assert.match(out, /^configmap\/listed-settings created$/m);
    assert.match(out, /^widget\.example\.tide\.dev\/listed created$/m);
    assert.equal((await getJson('configmap', 'listed-settings', '-n', ns)).data.mode, 'fast');
    assert.equal((await getJson('wdg', 'listed', '-n', ns)).spec.size, 4);
    const list = { apiVersion: 'v1', kind: 'List', items: [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'before-bad' }, data: { a: '1' } },
      JSON.parse(widget('too-big', { size: 500 })),
    ] };
    const r = await h.kubectl(['apply', '-n', ns, '-f', '-'], { input: JSON.stringify(list) });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /spec\.size: Invalid value: 500: spec\.size in body should be less than or equal to 100/);
    assert.equal((await getJson('configmap', 'before-bad', '-n', ns)).data.a, '1', 'items are applied one by one');
    assert.match((await h.kubectl(['get', 'wdg', 'too-big', '-n', ns])).stderr, /not found/);
    // An unknown field is found by kubectl itself, in the /openapi/v2 definitions: nothing is applied.
    list.items = [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'not-applied' }, data: { a: '1' } }, JSON.parse(widget('unknown', { size: 1, colour: 'Red' }))];
    const refused = await h.kubectl(['apply', '-n', ns, '-f', '-'], { input: JSON.stringify(list) });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /ValidationError\(Widget\.spec\): unknown field "colour" in dev\.tide\.example\.v1\.Widget\.spec/);
    assert.match((await h.kubectl(['get', 'configmap', 'not-applied', '-n', ns])).stderr, /not found/);
  });

  test('a write with a stale resourceVersion gets 409 Conflict', async () => {
    const ns = await namespace('t-conflict');
    await h.kubectlOk(['apply', '-n', ns, '-f', '-'], { input: widget('w', { size: 1 }) });
    const stale = await getJson('wdg', 'w', '-n', ns);
    await h.kubectlOk(['patch', 'wdg', 'w', '-n', ns, '--type=merge', '-p', '{"spec":{"size":2}}']);
    stale.spec.size = 3;
    const r = await h.kubectl(['replace', '-f', '-'], { input: JSON.stringify(stale) });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Operation cannot be fulfilled on widgets\.example\.tide\.dev "w": the object has been modified/);
    assert.equal((await getJson('wdg', 'w', '-n', ns)).spec.size, 2);
  });

  test('Secrets: stringData becomes base64 data, re-apply merges; deleting a namespace deletes its contents', async () => {
    const ns = await namespace('t-secret');
    const secret = (value: string, labels: Record<string, string>) =>
      JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'ssh', labels }, stringData: { 'ssh-privatekey': value } });
    await h.kubectlOk(['apply', '-n', ns, '-f', '-'], { input: secret('first', { a: '1' }) });
    await h.kubectlOk(['apply', '-n', ns, '-f', '-'], { input: secret('second', { b: '2' }) });
    const s = await getJson('secret', 'ssh', '-n', ns);
    assert.equal(Buffer.from(s.data['ssh-privatekey'], 'base64').toString(), 'second');
    assert.deepEqual(s.metadata.labels, { b: '2' });
    assert.equal(s.type, 'Opaque');
    assert.equal(s.stringData, undefined);
    assert.match(await h.kubectlOk(['get', 'secrets', '-n', ns]), /^ssh\s+Opaque\s+1\s+\d+s$/m);

    await h.kubectlOk(['apply', '-n', ns, '-f', '-'], { input: widget('w', { size: 1 }) });
    await h.kubectlOk(['delete', 'namespace', ns, '--timeout=30s']);
    assert.match((await h.kubectl(['get', 'namespace', ns])).stderr, /namespaces "t-secret" not found/);
    assert.match((await h.kubectl(['get', 'secrets,wdg', '-n', ns])).stderr, /No resources found/);
  });

  test('kubectl create namespace|secret|configmap (protobuf bodies) work', async () => {
    await h.kubectlOk(['create', 'namespace', 't-create']);
    const key = join(h.dir, 'id_ed25519');
    writeFileSync(key, 'PRIVATE KEY\n');
    await h.kubectlOk(['create', 'secret', 'generic', 'ssh', '-n', 't-create', `--from-file=ssh-privatekey=${key}`, '--from-literal=known_hosts=host ssh-ed25519 AAAA']);
    await h.kubectlOk(['create', 'configmap', 'cfg', '-n', 't-create', '--from-literal=a=b']);
    const ns = await getJson('namespace', 't-create');
    assert.equal(ns.status.phase, 'Active');
    assert.equal(ns.metadata.generateName, undefined);
    const secret = await getJson('secret', 'ssh', '-n', 't-create');
    assert.equal(secret.type, 'Opaque');
    assert.equal(Buffer.from(secret.data['ssh-privatekey'], 'base64').toString(), 'PRIVATE KEY\n');
    assert.equal(Buffer.from(secret.data.known_hosts, 'base64').toString(), 'host ssh-ed25519 AAAA');
    assert.deepEqual((await getJson('configmap', 'cfg', '-n', 't-create')).data, { a: 'b' });
    assert.match((await h.kubectl(['create', 'namespace', 't-create'])).stderr, /namespaces "t-create" already exists/);
  });

  test('kubectl get --watch streams ADDED, MODIFIED and DELETED rows', async () => {
    const ns = await namespace('t-watch');
    await h.kubectlOk(['apply', '-n', ns, '-f', '-'], { input: widget('w', { size: 1 }) });
    const watchesBefore = await h.watchers('widgets');
    const watching = h.kubectlBackground(['get', 'wdg', '-n', ns, '--watch', '--output-watch-events']);
    try {
      await untilWatching(h, 'widgets', watchesBefore, 'kubectl get --watch to watch');
      await h.kubectlOk(['patch', 'wdg', 'w', '-n', ns, '--type=merge', '-p', '{"spec":{"size":2}}']);
      await h.kubectlOk(['delete', 'wdg', 'w', '-n', ns]);
      await eventually('the DELETED row', () => (/^DELETED/m.test(watching.stdout()) ? true : undefined));
    } finally {
      await watching.stop();
    }
    const events = watching.stdout().trim().split('\n').slice(1).map((line) => line.split(/\s+/).slice(0, 3).join(' '));
    assert.deepEqual(events, ['ADDED w 1', 'MODIFIED w 2', 'DELETED w 2']);
  });

  test('deleting a CRD removes its resources and stops serving them', async () => {
    const ns = await namespace('t-crd-delete');
    await h.kubectlOk(['apply', '-n', ns, '-f', '-'], { input: widget('w', { size: 1 }) });
    await h.kubectlOk(['delete', 'crd', 'widgets.example.tide.dev']);
    const r = await h.kubectl(['get', 'widgets', '-n', ns]);
    // kubectl's cached discovery still knows the type, so it is the server that says it is gone.
    assert.match(r.stderr, /Unable to list "example\.tide\.dev\/v1, Resource=widgets": the server could not find the requested resource/);
    // Put it back for the other tests, without the objects it had.
    await h.applyCrds(fixture('widgets-crd.yaml'));
    assert.match((await h.kubectl(['get', 'widgets', '-n', ns])).stderr, /No resources found/);
  });

  test('re-applying a changed CRD changes what is served and validated', async () => {
    const ns = await namespace('t-crd-update');
    const changed = readFileSync(fixture('widgets-crd.yaml'), 'utf8').replace('maximum: 100', 'maximum: 50').replace('shortNames: [wdg]', 'shortNames: [wdg, wd]');
    await h.kubectlOk(['apply', '-f', '-'], { input: changed });
    try {
      const crd = await getJson('crd', 'widgets.example.tide.dev');
      assert.equal(crd.metadata.generation, 2);
      const r = await h.kubectl(['apply', '-n', ns, '-f', '-'], { input: widget('w', { size: 70 }) });
      assert.match(r.stderr, /spec\.size: Invalid value: 70: spec\.size in body should be less than or equal to 50/);
      await h.kubectlOk(['apply', '-n', ns, '-f', '-'], { input: widget('w', { size: 40 }) });
      assert.match(await h.kubectlOk(['get', 'wd', '-n', ns, '--no-headers']), /^w\s+40\s/);
    } finally {
      await h.applyCrds(fixture('widgets-crd.yaml'));
    }
  });

  test('server-side apply: creates, drops fields the manager stops applying, reports conflicts, forces', async () => {
    const ns = await namespace('t-ssa');
    const ssa = (spec: Record<string, unknown>, ...flags: string[]) =>
      h.kubectl(['apply', '--server-side', '-n', ns, ...flags, '-f', '-'], { input: widget('w', spec, { labels: { app: 'demo' } }) });
    const created = await ssa({ size: 3, tags: ['a', 'b'], minSize: 1 });
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /widget\.example\.tide\.dev\/w serverside-applied/);
    await ssa({ size: 4, tags: ['a'] });
    let w = await getJson('wdg', 'w', '-n', ns);
    assert.equal(w.spec.size, 4);
    assert.deepEqual(w.spec.tags, ['a'], 'lists are replaced whole');
    assert.equal(w.spec.minSize, undefined, 'a field no longer applied is removed');
    assert.equal(w.spec.color, 'Red', 'defaults stay');
    assert.equal(w.metadata.generation, 2);

    const contested = await ssa({ size: 9 }, '--field-manager=other');
    assert.notEqual(contested.code, 0);
    assert.match(contested.stderr, /Apply failed with 1 conflict: conflict with "kubectl": \.spec\.size/);
    const agreeing = await ssa({ size: 4 }, '--field-manager=other');
    assert.equal(agreeing.code, 0, `co-owning a field with the same value is no conflict: ${agreeing.stderr}`);
    const forced = await ssa({ size: 9 }, '--field-manager=other', '--force-conflicts');
    assert.equal(forced.code, 0, forced.stderr);
    w = JSON.parse(await h.kubectlOk(['get', 'wdg', 'w', '-n', ns, '-o', 'json', '--show-managed-fields']));
    assert.equal(w.spec.size, 9);
    const owners = Object.fromEntries(w.metadata.managedFields.map((e: any) => [e.manager, Object.keys(e.fieldsV1['f:spec'] ?? {}).sort()]));
    assert.deepEqual(owners, { kubectl: ['f:tags'], other: ['f:size'] });
  });
}
