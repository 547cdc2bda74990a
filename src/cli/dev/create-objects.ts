import { KubernetesObjectApi, type KubeConfig } from '@kubernetes/client-node';

/** Creates each object (leaving alone those that exist) through client-node's generic object API. */
export async function createObjects(kubeConfig: KubeConfig, objects: object[]): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kubeConfig);
  for (const obj of objects) {
    try {
      await api.create(obj as never);
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
  }
}
