/**
 * A PowerDriver for the lab: powering a lab host on rebuilds its namespace and daemons and
 * resolves once its sshd answers; powering it off refuses while libvirt still runs a domain
 * there (no VM is ever powered off), then stops its daemons and removes its namespace.
 */
import { PowerActionError, type HostTarget, type PowerDriver } from '../../src/api/drivers.ts';
import type { Lab } from './lab.ts';

export class LabPowerDriver implements PowerDriver {
  constructor(private readonly lab: Lab) {}

  async powerOn(host: HostTarget, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.lab.isOn(host.name)) return;
    await this.lab.powerOn(host.name).catch((error: Error) => {
      throw new PowerActionError(host.name, 'on', `lab host ${host.name} did not come up: ${error.message}`);
    });
  }

  async powerOff(host: HostTarget, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (!this.lab.isOn(host.name)) return;
    await this.lab.powerOff(host.name).catch((error: Error) => {
      throw new PowerActionError(host.name, 'off', error.message);
    });
  }
}
