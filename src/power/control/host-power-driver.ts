/**
 * PowerDriver for real hosts: on by Wake-on-LAN or IPMI, off by an orderly SSH
 * `systemctl poweroff` or IPMI soft power-off, as each PhysicalHost's spec.power says.
 *
 * Every action is confirmed by observation (the injected `observe`: reachability, meter watts,
 * BMC state …) within the spec's boot/shutdown timeout, and a host that does not get there is
 * reported with PowerActionError, not retried. powerOff refuses while any VM is on the host —
 * or while it cannot be told whether one is: first from Tide's own observation (`domainsOn`, a
 * refusal that names the VMs), then, the check that counts, on the host itself in the same
 * command as the power-off (guarded-poweroff.ts).
 */
import type { Clock } from '../../api/clock.ts';
import { PowerActionError, type HostTarget, type PowerDriver, type WakeMethod } from '../../api/drivers.ts';
import type { PhysicalHostSpec } from '../../api/physical-host.ts';
import { confirmPowerState, type ObservedPower, type PowerObserver } from './confirm.ts';
import { IpmiTool, type IpmiTarget } from './ipmitool.ts';
import { validLibvirtUri } from '../../hypervisor/names.ts';
import { guardedPoweroffCommand } from './guarded-poweroff.ts';
import { runSshCommand, type SshCommandOptions, type SshTarget } from './ssh-poweroff.ts';
import { sendMagicPacket, type WakeOnLanTarget } from './wake-on-lan.ts';

export interface HostPowerDriverOptions {
  observe: PowerObserver;
  /** Names of the live libvirt domains on the host; throws when it cannot tell. */
  domainsOn: (host: HostTarget) => Promise<string[]>;
  clock: Clock;
  /** How often the host is observed while waiting (default 5 s). */
  pollMs?: number;
  ipmi?: IpmiTool;
  wakeOnLan?: (target: WakeOnLanTarget) => Promise<void>;
  ssh?: (target: SshTarget, command: string, options: SshCommandOptions) => Promise<void>;
}

type PowerSpec = NonNullable<PhysicalHostSpec['power']>;

const DEFAULT_BOOT_TIMEOUT_S = 600;
const DEFAULT_SHUTDOWN_TIMEOUT_S = 300;

export class HostPowerDriver implements PowerDriver {
  constructor(private readonly o: HostPowerDriverOptions) {}

  async powerOn(host: HostTarget, signal?: AbortSignal, method?: WakeMethod): Promise<void> {
    const power = powerSpec(host, 'on');
    await this.act(host, 'on', () => this.sendPowerOn(host, power, method ?? power.onMethod), power.bootTimeoutSeconds ?? DEFAULT_BOOT_TIMEOUT_S, signal);
  }

  async powerOff(host: HostTarget, signal?: AbortSignal): Promise<void> {
    const power = powerSpec(host, 'off');
    let domains: string[];
    try {
      domains = await this.o.domainsOn(host);
    } catch (err) {
      throw new PowerActionError(host.name, 'off', `refusing to power off ${host.name}: cannot tell whether VMs run on it (${(err as Error).message})`);
    }
    if (domains.length > 0) {
      throw new PowerActionError(host.name, 'off', `refusing to power off ${host.name}: VMs still on it: ${domains.join(', ')}`);
    }
    await this.act(host, 'off', () => this.sendPowerOff(host, power), power.shutdownTimeoutSeconds ?? DEFAULT_SHUTDOWN_TIMEOUT_S, signal);
  }

  private async sendPowerOn(host: HostTarget, power: PowerSpec, method: PowerSpec['onMethod']): Promise<string> {
    switch (method) {
      case 'WakeOnLAN': {
        const wol = power.wakeOnLAN;
        if (!wol) throw new Error('spec.power.wakeOnLAN is missing');
        const target = { macAddress: wol.macAddress, broadcastAddress: wol.broadcastAddress ?? '255.255.255.255', port: wol.port ?? 9 };
        await (this.o.wakeOnLan ?? sendMagicPacket)(target);
        return `Wake-on-LAN to ${target.macAddress} via ${target.broadcastAddress}:${target.port}`;
      }
      case 'IPMI': {
        const target = ipmiTargetOf(host, power);
        await this.ipmi().chassisPower(target, 'on');
        return `IPMI chassis power on via ${target.address}:${target.port}`;
      }
      default:
        throw new Error(`spec.power.onMethod is ${method ?? 'None'}: Tide has no way to power ${host.name} on`);
    }
  }

  private async sendPowerOff(host: HostTarget, power: PowerSpec): Promise<string> {
    switch (power.offMethod ?? 'SSH') {
      case 'SSH': {
        const target = sshTarget(host);
        const label = `'systemctl poweroff' guarded by a check of libvirt for live domains`;
        await this.ssh(target, guardedPoweroffCommand(libvirtUriOf(host), 'poweroff'), { label, droppedIsDone: true });
        return `${label}, over SSH to ${target.username}@${target.host}:${target.port}`;
      }
      case 'IPMI': {
        const target = ipmiTargetOf(host, power);
        // A BMC has no shell to run the check and the power-off as one command, so the host's own
        // libvirt is asked over SSH right before. Weaker than the SSH method: the check and the
        // chassis command are two commands through two channels, seconds apart (an IPMI lanplus
        // session takes about a second to open), and nothing on the host ties them together; a
        // domain started in between is guarded only by the host's own shutdown (the ACPI soft-off
        // runs it: libvirt-guests, see guarded-poweroff.ts).
        const ssh = sshTarget(host);
        await this.ssh(ssh, guardedPoweroffCommand(libvirtUriOf(host), 'nothing'), { label: 'the check of libvirt for live domains' });
        await this.ipmi().chassisPower(target, 'soft');
        return `IPMI chassis power soft via ${target.address}:${target.port}, after the host's libvirt listed no live domain`;
      }
      default:
        throw new Error(`spec.power.offMethod is None: Tide does not power ${host.name} off`);
    }
  }

  /**
   * Sends one command unless the host is already there, then waits to observe the result. Only
   * positive evidence skips the command: a host that cannot be reached before anything was sent
   * is 'unreachable' (a network blip looks the same as a host that is off), never 'off'.
   */
  private async act(host: HostTarget, want: 'on' | 'off', send: () => Promise<string>, timeoutSeconds: number, signal?: AbortSignal): Promise<void> {
    if ((await this.observeQuietly(host)) === want) return;
    let how: string;
    try {
      how = await send();
    } catch (err) {
      throw asPowerError(host, want, err);
    }
    const { observe, clock } = this.o;
    await confirmPowerState(host, want, how, { observe, clock, timeoutMs: timeoutSeconds * 1000, pollMs: this.o.pollMs ?? 5000, signal });
  }

  private ssh(target: SshTarget, command: string, options: SshCommandOptions): Promise<void> {
    return (this.o.ssh ?? runSshCommand)(target, command, options);
  }

  private ipmi(): IpmiTool {
    return this.o.ipmi ?? new IpmiTool();
  }

  private async observeQuietly(host: HostTarget): Promise<ObservedPower> {
    try {
      return await this.o.observe(host);
    } catch {
      return 'unknown';
    }
  }
}

function powerSpec(host: HostTarget, action: 'on' | 'off'): PowerSpec {
  const power = host.spec.power as PowerSpec | undefined;
  if (!power) throw new PowerActionError(host.name, action, `${host.name} has no spec.power`);
  return power;
}

/** The BMC of an IPMI host, with its credentials — also what an observer asks for `chassis power status`. */
export function ipmiTargetOf(host: HostTarget, power: PowerSpec = powerSpec(host, 'on')): IpmiTarget {
  if (!power.ipmi) throw new Error('spec.power.ipmi is missing');
  const username = host.secrets?.username;
  const password = host.secrets?.password;
  const secret = power.ipmi.secretRef.namespace ? `${power.ipmi.secretRef.namespace}/${power.ipmi.secretRef.name}` : power.ipmi.secretRef.name;
  if (!username || password === undefined) throw new Error(`IPMI Secret ${secret} lacks the keys 'username' and 'password'`);
  return { address: power.ipmi.address, port: power.ipmi.port ?? 623, username, password };
}

/** The libvirt URI virsh uses on the host itself (spec.libvirt.uri), checked before it reaches a shell. */
function libvirtUriOf(host: HostTarget): string {
  const uri = (host.spec as Partial<PhysicalHostSpec>).libvirt?.uri;
  return uri === undefined ? 'qemu:///system' : validLibvirtUri(uri, `PhysicalHost ${host.name} spec.libvirt.uri`);
}

function sshTarget(host: HostTarget): SshTarget {
  const spec = host.spec as Partial<PhysicalHostSpec>;
  const privateKey = host.secrets?.['ssh-privatekey'];
  const knownHosts = host.secrets?.known_hosts;
  if (!spec.address) throw new Error('spec.address is missing');
  if (!privateKey || !knownHosts) throw new Error("the SSH Secret lacks the keys 'ssh-privatekey' and 'known_hosts'");
  return { host: spec.address, port: spec.ssh?.port ?? 22, username: spec.ssh?.user ?? 'root', privateKey, knownHosts };
}

function asPowerError(host: HostTarget, action: 'on' | 'off', err: unknown): PowerActionError {
  if (err instanceof PowerActionError) return err;
  return new PowerActionError(host.name, action, `powering ${host.name} ${action} failed: ${(err as Error).message}`);
}
