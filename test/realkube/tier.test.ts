/**
 * Says which tier ran, in the test output itself, and holds the real control plane to what the
 * other real-tier tests rely on: the pinned versions, RBAC enforced, ServiceAccount tokens
 * from the TokenRequest API, namespaces deleted (kube-controller-manager), ownerReferences
 * garbage-collected.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REAL_KUBE, realTest, startRealApiServer, type RealApiServer } from './envtest.ts';

const pinned = readFileSync(new URL('../../scripts/envtest.sh', import.meta.url), 'utf8');
const KUBE_VERSION = /^KUBE_VERSION=(\S+)$/m.exec(pinned)![1]!;
const HELM_VERSION = /^HELM_VERSION=(\S+)$/m.exec(pinned)![1]!;
const ETCD_VERSION = /^ETCD_VERSION=(\S+)$/m.exec(pinned)![1]!;

if (REAL_KUBE.enabled) {
  test(`real kube-apiserver tier: runs (kubernetes ${KUBE_VERSION}, etcd ${ETCD_VERSION}, helm ${HELM_VERSION}; ${REAL_KUBE.reason})`, async () => {
    const server = await startRealApiServer();
    assert.deepEqual(server.versions, { kubernetes: KUBE_VERSION, helm: HELM_VERSION, etcd: ETCD_VERSION.replace(/^v/, '') });
  });
} else {
  test(`real kube-apiserver tier: skipped because ${REAL_KUBE.reason}`, { skip: `skipped because ${REAL_KUBE.reason}` }, () => {});
}

let server: RealApiServer;
let scratch: string;
before(async () => {
  if (!REAL_KUBE.enabled) return;
  server = await startRealApiServer();
  scratch = mkdtempSync(join(tmpdir(), 'tide-tier-'));
});
after(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

realTest('the server is the pinned release, and kubectl and helm are the pinned builds', async () => {
  const version = JSON.parse(await server.kubectlOk(['version', '-o', 'json']));
  assert.equal(version.serverVersion.gitVersion, KUBE_VERSION);
  assert.equal(version.clientVersion.gitVersion, KUBE_VERSION, 'kubectl built from the same release');
  assert.match(await server.helmOk(['version', '--short']), new RegExp(`^${HELM_VERSION.replaceAll('.', '\\.')}`));
  const ready = await server.kubectlOk(['get', '--raw', '/readyz?verbose']);
  assert.match(ready, /readyz check passed/);
});

realTest('RBAC is enforced, and a ServiceAccount token from the TokenRequest API authenticates as that account', async () => {
  const ns = await server.namespace('tier-rbac');
  await server.kubectlOk(['create', 'serviceaccount', 'reader', '-n', ns]);
  const token = (await server.kubectlOk(['create', 'token', 'reader', '-n', ns, '--duration=10m'])).trim();
  const [, payload] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
  assert.equal(claims.iss, server.serviceAccountIssuer);
  assert.deepEqual(claims.aud, [server.serviceAccountIssuer]);
  assert.equal(claims.sub, `system:serviceaccount:${ns}:reader`);

  // A kubeconfig with only that token: what a pod's mounted token gives a process.
  const kubeconfig = join(scratch, `${ns}.kubeconfig`);
  writeFileSync(kubeconfig, JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'sa',
    clusters: [{ name: 'c', cluster: { server: server.url, 'certificate-authority-data': Buffer.from(server.caPem).toString('base64') } }],
    users: [{ name: 'sa', user: { token } }],
    contexts: [{ name: 'sa', context: { cluster: 'c', user: 'sa', namespace: ns } }],
  }));
  const whoami = JSON.parse(await server.kubectlOk(['auth', 'whoami', '-o', 'json'], { kubeconfig }));
  assert.equal(whoami.status.userInfo.username, `system:serviceaccount:${ns}:reader`);
  const denied = await server.kubectl(['get', 'configmaps'], { kubeconfig });
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, new RegExp(`configmaps is forbidden: User "system:serviceaccount:${ns}:reader" cannot list resource "configmaps" in API group "" in the namespace "${ns}"`));
  await server.kubectlOk(['create', 'role', 'read-cm', '-n', ns, '--verb=get,list', '--resource=configmaps']);
  await server.kubectlOk(['create', 'rolebinding', 'read-cm', '-n', ns, '--role=read-cm', `--serviceaccount=${ns}:reader`]);
  // The authorizer sees the new binding through its informer: allow it a moment.
  let allowed = await server.kubectl(['get', 'configmaps'], { kubeconfig });
  for (let i = 0; i < 50 && allowed.code !== 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    allowed = await server.kubectl(['get', 'configmaps'], { kubeconfig });
  }
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.match(await server.kubectlOk(['auth', 'can-i', 'delete', 'configmaps'], { kubeconfig }).catch((e: Error) => e.message), /no/);
});

realTest('kube-controller-manager: a namespace gets its default ServiceAccount, a deleted one is emptied and goes, owned objects are collected', async () => {
  const ns = await server.namespace('tier-kcm');
  await server.kubectlOk(['wait', '--for=create', 'serviceaccount/default', '-n', ns, '--timeout=30s']);
  await server.kubectlOk(['wait', '--for=create', 'configmap/kube-root-ca.crt', '-n', ns, '--timeout=30s']);
  await server.kubectlOk(['create', 'configmap', 'owner', '-n', ns, '--from-literal=a=b']);
  const owner = JSON.parse(await server.kubectlOk(['get', 'configmap', 'owner', '-n', ns, '-o', 'json']));
  const owned = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owned', namespace: ns, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid }] }, data: { c: 'd' } };
  await server.kubectlOk(['create', '-f', '-'], { input: JSON.stringify(owned) });
  await server.kubectlOk(['delete', 'configmap', 'owner', '-n', ns]);
  await server.kubectlOk(['wait', '--for=delete', 'configmap/owned', '-n', ns, '--timeout=60s']);
  await server.kubectlOk(['create', 'secret', 'generic', 's', '-n', ns, '--from-literal=k=v']);
  await server.kubectlOk(['delete', 'namespace', ns, '--timeout=60s']);
  const gone = await server.kubectl(['get', 'namespace', ns]);
  assert.match(gone.stderr, new RegExp(`namespaces "${ns}" not found`));
});
