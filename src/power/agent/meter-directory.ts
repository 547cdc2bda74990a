/** Which host each meter belongs to (from PhysicalHost.spec.meter), shared by the agent and its meter source. */
import type { ScalingOverride } from '../meters/meter-scaling.ts';
import type { MeteredHost } from './host-store.ts';

export class MeterDirectory {
  private byMeter = new Map<string, MeteredHost[]>();

  replace(hosts: MeteredHost[]): void {
    const next = new Map<string, MeteredHost[]>();
    for (const h of hosts) next.set(h.meterId, [...(next.get(h.meterId) ?? []), h]);
    this.byMeter = next;
  }

  hostsOf(meterId: string): MeteredHost[] {
    return this.byMeter.get(meterId.toLowerCase()) ?? [];
  }

  all(): MeteredHost[] {
    return [...this.byMeter.values()].flat();
  }

  /** The scaling the host's spec imposes on its meter, if any. */
  overrideFor = (meterId: string): ScalingOverride | undefined => this.hostsOf(meterId)[0]?.override;
}
