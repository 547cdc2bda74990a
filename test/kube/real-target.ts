/**
 * The real tier of the kube harness: a kube-apiserver (+ etcd, kube-controller-manager) of this
 * test file's own, started by scripts/envtest.sh through test/realkube/envtest.ts, driven with the
 * same kubectl and client-node as the embedded server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { startRealApiServer } from '../realkube/envtest.ts';
import type { KubeTarget } from './harness.ts';
import { kubectlRunner } from './kubectl-runner.ts';
import { RawClient } from './raw-client.ts';

/**
 * Open watches of a resource within a namespace, as the server counts them in its own metrics
 * (`apiserver_longrunning_requests`, verb WATCH, scope `namespace`, or `resource` when a field
 * selector names one object, as `kubectl wait` does). Cluster-wide watches are left out:
 * kube-controller-manager's garbage collector keeps one on every resource.
 */
export function countWatches(metrics: string, resource: string): number {
  let open = 0;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith('apiserver_longrunning_requests{')) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (labels.verb === 'WATCH' && labels.resource === resource && labels.scope !== 'cluster' && !labels.subresource) open += Number(line.split(' ').at(-1));
  }
  return open;
}

export async function startRealTarget(): Promise<KubeTarget> {
  // Private: the kube test files create, change and delete CRDs, which are cluster-wide.
  const server = await startRealApiServer({ private: true });
  const dir = mkdtempSync(join(tmpdir(), 'tide-kube-real-'));
  const kubeConfig = () => {
    const kc = new KubeConfig();
    kc.loadFromFile(server.kubeconfigPath);
    return kc;
  };
  const raw = await RawClient.fromKubeConfig(kubeConfig());
  return {
    tier: 'real',
    dir,
    kubeconfigPath: server.kubeconfigPath,
    kubeConfig,
    ...kubectlRunner(dir, server.kubeconfigPath),
    watchers: async (resource) => countWatches((await raw.send({ method: 'GET', path: '/metrics' })).body, resource),
    async close() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
