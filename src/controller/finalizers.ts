/**
 * Writes a PhysicalHost's metadata.finalizers: a read-modify-write (GET, then PUT carrying the
 * resourceVersion), retried on 409 with fresh data, so a concurrent change by anyone else
 * (another controller's finalizer, kubectl) is never overwritten. A host already gone is fine.
 */
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, PHYSICAL_HOST, VERSION } from '../api/crds.ts';
import type { PhysicalHost } from '../api/types.ts';
import { isConflict, isNotFound } from './cluster.ts';

export interface FinalizerWriter {
  /** Sets the host's finalizers to `mutate(current)`; no write when it returns them unchanged. */
  updateFinalizers(name: string, mutate: (current: string[], host: PhysicalHost) => string[]): Promise<void>;
}

const MAX_CONFLICT_RETRIES = 8;

export class KubeFinalizerWriter implements FinalizerWriter {
  private readonly api: CustomObjectsApi;

  constructor(kubeConfig: KubeConfig) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  async updateFinalizers(name: string, mutate: (current: string[], host: PhysicalHost) => string[]): Promise<void> {
    const base = { group: GROUP, version: VERSION, plural: PHYSICAL_HOST.plural, name };
    for (let attempt = 0; ; attempt++) {
      let host: PhysicalHost;
      try {
        host = (await this.api.getClusterCustomObject(base)) as PhysicalHost;
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
      const current = host.metadata.finalizers ?? [];
      const next = mutate([...current], host);
      if (next.length === current.length && next.every((f, i) => f === current[i])) return;
      try {
        await this.api.replaceClusterCustomObject({ ...base, body: { ...host, metadata: { ...host.metadata, finalizers: next } } });
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        if (!isConflict(err) || attempt >= MAX_CONFLICT_RETRIES) throw err;
      }
    }
  }
}
