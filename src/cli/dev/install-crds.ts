/** Registers Tide's CRDs with an API server and waits until their resources are served. */
import { ApiextensionsV1Api, CustomObjectsApi, type KubeConfig, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import type { Clock } from '../../api/clock.ts';
import { customResourceDefinition, GROUP, RESOURCES, VERSION } from '../../api/crds.ts';

export async function installCrds(kubeConfig: KubeConfig, clock: Clock, timeoutMs = 30_000): Promise<void> {
  const extensions = kubeConfig.makeApiClient(ApiextensionsV1Api);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  for (const def of RESOURCES) {
    const body = customResourceDefinition(def) as unknown as V1CustomResourceDefinition;
    try {
      await extensions.createCustomResourceDefinition({ body });
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err; // already there
    }
  }
  const deadline = clock.now() + timeoutMs;
  for (const def of RESOURCES) {
    for (;;) {
      try {
        await custom.listCustomObjectForAllNamespaces({ group: GROUP, version: VERSION, plural: def.plural });
        break;
      } catch (err) {
        if (clock.now() > deadline) throw new Error(`CRD ${def.plural}.${GROUP} not served after ${timeoutMs} ms: ${(err as Error).message}`);
        await clock.sleep(100);
      }
    }
  }
}

/** Creates (or leaves alone, if present) each object through client-node's generic object API. */
export async function createObjects(kubeConfig: KubeConfig, objects: object[]): Promise<void> {
  const { KubernetesObjectApi } = await import('@kubernetes/client-node');
  const api = KubernetesObjectApi.makeApiClient(kubeConfig);
  for (const obj of objects) {
    try {
      await api.create(obj as never);
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
  }
}
