/** HostStore over the Kubernetes API (PhysicalHost: tide.dev/v1alpha1, cluster-scoped). */
import { CustomObjectsApi, type KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { PhysicalHostSpec, PhysicalHostStatus } from '../../api/physical-host.ts';
import type { HostStore, MeteredHost } from './host-store.ts';
import type { StatusWithConditions } from './meter-status.ts';

const GROUP = 'tide.dev';
const VERSION = 'v1alpha1';
const PLURAL = 'physicalhosts';
const CONFLICT_RETRIES = 5;

interface PhysicalHostObject {
  metadata: { name: string; resourceVersion?: string };
  spec?: Partial<PhysicalHostSpec>;
  status?: PhysicalHostStatus;
}

export class KubeHostStore implements HostStore {
  private readonly api: CustomObjectsApi;

  constructor(kubeConfig: KubeConfig) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  async listMeteredHosts(): Promise<MeteredHost[]> {
    const list = (await this.api.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as { items: PhysicalHostObject[] };
    return list.items.flatMap((h) => {
      const meter = h.spec?.meter;
      if (!meter?.ieeeAddress) return [];
      const override = meter.multiplier !== undefined || meter.divisor !== undefined ? { multiplier: meter.multiplier, divisor: meter.divisor } : undefined;
      return [{ name: h.metadata.name, meterId: meter.ieeeAddress.toLowerCase(), override }];
    });
  }

  async patchStatus(name: string, patchFor: (current: StatusWithConditions | undefined) => object): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const host = (await this.api.getClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name })) as PhysicalHostObject;
      // The resourceVersion makes the merge patch conditional: a concurrent writer's conditions are never lost.
      const body = { ...patchFor(host.status), metadata: { resourceVersion: host.metadata.resourceVersion } };
      try {
        await this.api.patchClusterCustomObjectStatus(
          { group: GROUP, version: VERSION, plural: PLURAL, name, body },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        return;
      } catch (err) {
        if ((err as { code?: number }).code !== 409 || attempt >= CONFLICT_RETRIES) throw err;
      }
    }
  }
}
