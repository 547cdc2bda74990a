/**
 * Tide installed on a server of the kube harness's tiers (test/kube/harness.ts, serverTiers():
 * the embedded development API server, and a real kube-apiserver of the file's own), for the
 * tests that run Tide's own processes: its CRDs, the tide-system namespace, and a kubeconfig per
 * Tide component —
 *
 * - real: the chart's ServiceAccounts and RBAC (`helm template charts/tide`, agent enabled)
 *   applied by kubectl, and a kubeconfig holding nothing but a token minted for the component's
 *   ServiceAccount by the TokenRequest API (`kubectl create token`): the real authorizer, not
 *   the test, decides what the operator and the agent may do;
 * - embedded: the server's one bearer token (it has a single identity and no RBAC; its
 *   authorizer is held to permissions.ts by test/controller/rbac.test.ts).
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { after, before, describe } from 'node:test';
import { serverTiers, type KubeTarget, type ServerTier } from '../kube/harness.ts';
import { apiGetJson, sendAsKubectl } from '../kube/api-get.ts';
import { RawClient } from '../kube/raw-client.ts';
import { waitFor } from '../hypervisor/eventually.ts';
import { helmBinary, ROOT } from './envtest.ts';

export type Component = 'operator' | 'zigbee-agent';

export interface TideCluster {
  target: KubeTarget;
  dir: string;
  /** kubectl as the cluster's administrator (the user of the tests), from the repository root. */
  kubectlOk(args: string[], input?: string): Promise<string>;
  /** What `kubectl get -o json ARGS` prints, read over the API (test/kube/api-get.ts). */
  getJson<T = any>(...args: string[]): Promise<T>;
  /** The kubeconfig a Tide component runs with (see the file comment). */
  credentials: Record<Component, string>;
  /** Who the component is to the server, for the test output. */
  identities: Record<Component, string>;
  /** Removes Tide's objects, their Events and the leader Lease: the next test starts clean. */
  reset(): Promise<void>;
}

export const NAMESPACE = 'tide-system';

/**
 * Declares `body`'s tests once per server tier (embedded, real), with Tide installed once per
 * tier; `cluster()` hands each test that installation, reset to a clean state.
 */
export function forEachInstalledTier(body: (cluster: () => Promise<TideCluster>, tier: ServerTier) => void): void {
  for (const tier of serverTiers()) {
    describe(tier.name, { skip: tier.skip }, () => {
      let target: KubeTarget | undefined;
      let installed: TideCluster;
      before(async () => {
        target = await tier.start();
        installed = await installTide(target);
      });
      after(() => target?.close());
      const cluster = async () => {
        await installed.reset();
        return installed;
      };
      body(cluster, tier);
    });
  }
}

export async function installTide(target: KubeTarget): Promise<TideCluster> {
  // Paths in the tests (manifests/…) are the repository's.
  const kubectlOk = (args: string[], input?: string) => target.kubectlOk(args.map((a) => (a.startsWith('manifests/') ? join(ROOT, a) : a)), { input });
  await target.applyCrds(join(ROOT, 'manifests/crds/'));
  await kubectlOk(['create', 'namespace', NAMESPACE]);
  const getJson = await apiGetJson(target.kubeconfigPath);
  const admin = new KubeConfig();
  admin.loadFromFile(target.kubeconfigPath);
  const client = await RawClient.fromKubeConfig(admin);
  const cluster: TideCluster = {
    target,
    dir: target.dir,
    kubectlOk,
    getJson,
    credentials: { operator: target.kubeconfigPath, 'zigbee-agent': target.kubeconfigPath },
    identities: { operator: "the embedded server's one token", 'zigbee-agent': "the embedded server's one token" },
    // Between tests, not a user's step: over the API, as kubectl would (test/kube/api-get.ts says why).
    reset: () => resetTide(client),
  };
  if (target.tier === 'real') await serviceAccountCredentials(cluster);
  return cluster;
}

const TIDE = '/apis/tide.dev/v1alpha1';

/**
 * Deletes what the tests create (policies, hosts, placements, migrations, plans, Events, the
 * operator's Lease) and waits until it is gone. The operator's finalizer
 * (tide.dev/host-protection) would hold a host whose operator is gone for ever: it is stripped
 * first, as docs/install.md tells an uninstall to.
 */
async function resetTide(client: RawClient): Promise<void> {
  const send = async (method: string, path: string, body?: unknown) => {
    const res = await sendAsKubectl(client, { method, path, body, contentType: method === 'PATCH' ? 'application/merge-patch+json' : undefined });
    if (res.code >= 300 && res.code !== 404) throw new Error(`reset: ${method} ${path} answered ${res.code}: ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const listed = async (list: string): Promise<any[]> => ((await send('GET', list)).items as any[]).map((o) => o.metadata);
  const objectPath = (list: string, m: any) => (m.namespace ? list.replace(/\/([a-z]+)$/, `/namespaces/${m.namespace}/$1`) : list) + `/${m.name}`;
  for (const m of await listed(`${TIDE}/physicalhosts`)) {
    if (m.finalizers?.length) await send('PATCH', `${TIDE}/physicalhosts/${m.name}`, { metadata: { finalizers: null } });
  }
  const gone = async (lists: string[]) => {
    for (const list of lists) for (const m of await listed(list)) await send('DELETE', objectPath(list, m));
    await waitFor(`reset: ${lists.join(', ')} deleted`, async () => {
      for (const list of lists) if ((await listed(list)).length) return false;
      return true;
    }, 60_000, 100);
  };
  await gone([`${TIDE}/consolidationpolicies`, `${TIDE}/physicalhosts`]);
  await gone([`${TIDE}/virtualmachineplacements`, `${TIDE}/virtualmachinemigrations`]);
  for (const m of await listed('/api/v1/events')) await send('DELETE', objectPath('/api/v1/events', m));
  await send('DELETE', `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases/tide-operator`);
  await gone([`${TIDE}/namespaces/${NAMESPACE}/consolidationplans`]);
}

async function serviceAccountCredentials(c: TideCluster): Promise<void> {
  const accounts = await installChartRbac(c);
  for (const component of ['operator', 'zigbee-agent'] as const) {
    c.credentials[component] = await serviceAccountKubeconfig(c, accounts[component]);
    c.identities[component] = `system:serviceaccount:${NAMESPACE}:${accounts[component]}`;
  }
}

/**
 * A kubeconfig holding only a TokenRequest token of ServiceAccount `sa` (tide-system), once the
 * server authenticates it as that account and its RBAC (which must allow listing PhysicalHosts)
 * is in force. Real server only.
 */
export async function serviceAccountKubeconfig(c: TideCluster, sa: string): Promise<string> {
  const admin = new KubeConfig();
  admin.loadFromFile(c.target.kubeconfigPath);
  const server = admin.getCurrentCluster()!;
  const token = (await c.kubectlOk(['create', 'token', sa, '-n', NAMESPACE, '--duration=2h'])).trim();
  const file = join(c.dir, `${sa}.kubeconfig`);
  writeFileSync(file, JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': sa,
    clusters: [{ name: 'envtest', cluster: { server: server.server, 'certificate-authority-data': server.caData } }],
    users: [{ name: sa, user: { token } }],
    contexts: [{ name: sa, context: { cluster: 'envtest', user: sa, namespace: NAMESPACE } }],
  }));
  const identity = `system:serviceaccount:${NAMESPACE}:${sa}`;
  const whoami = JSON.parse(await c.target.kubectlOk(['auth', 'whoami', '-o', 'json'], { kubeconfig: file }));
  if (whoami.status.userInfo.username !== identity) throw new Error(`the token of ${sa} authenticates as ${whoami.status.userInfo.username}, not ${identity}`);
  // The authorizer learns of new bindings through its informers: wait until it has.
  await waitFor(`RBAC for ${sa} in force`, async () =>
    (await c.target.kubectl(['auth', 'can-i', 'list', 'physicalhosts.tide.dev'], { kubeconfig: file })).stdout.trim() === 'yes', 30_000, 200);
  return file;
}

/**
 * Applies the ServiceAccounts and RBAC that `helm install` of charts/tide (agent enabled) would
 * create, and resolves to each component's ServiceAccount name. Only those kinds: the
 * Deployments would never run here (no kubelet) and the CRDs are already applied.
 */
async function installChartRbac(c: TideCluster): Promise<Record<Component, string>> {
  const helm = await promisify(execFile)(await helmBinary(), ['template', 'tide', join(ROOT, 'charts/tide'), '--namespace', NAMESPACE, '--set', 'zigbeeAgent.enabled=true'], { env: { PATH: process.env.PATH, HOME: c.dir } });
  const kinds = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
  const objects = parseAllDocuments(helm.stdout).map((d) => d.toJS()).filter((o) => o && kinds.has(o.kind));
  const accounts = {} as Record<Component, string>;
  for (const o of objects.filter((o) => o.kind === 'ServiceAccount')) {
    const component = o.metadata.labels?.['app.kubernetes.io/component'];
    if (component === 'operator' || component === 'zigbee-agent') accounts[component as Component] = o.metadata.name;
  }
  if (!accounts.operator || !accounts['zigbee-agent']) throw new Error(`charts/tide rendered no ServiceAccount for ${!accounts.operator ? 'the operator' : 'the zigbee agent'}`);
  const file = join(c.dir, 'chart-rbac.json');
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  await c.kubectlOk(['apply', '-n', NAMESPACE, '-f', file]);
  return accounts;
}
