/**
 * Everything the driver needs to reach one host, read from its HostTarget (PhysicalHost spec and
 * the Secret it names) and validated once. Field names follow src/api/physical-host.ts.
 */
import { createHash } from 'node:crypto';
import type { HostTarget } from '../api/drivers.ts';
import { HypervisorError } from './errors.ts';
import { parseKnownHosts, type KnownHostEntry } from './known-hosts.ts';
import { validHostAddress, validLibvirtUri, validMigrationDataUri, validSshUser } from './names.ts';

export interface HostEndpoint {
  /** PhysicalHost name, used in every message. */
  host: string;
  address: string;
  port: number;
  user: string;
  privateKey: string;
  knownHosts: KnownHostEntry[];
  /** libvirt URI virsh uses on the host itself. */
  libvirtUri: string;
  /** URI the source host's libvirtd uses to reach this host's libvirtd when migrating here. */
  migrationUri: string;
  /** Where migration data is sent when migrating here (tcp://addr), if not libvirt's default. */
  migrationDataUri?: string;
  capacityCores: number;
  /** Identifies address + credentials: a changed Secret or spec gets a fresh connection. */
  poolKey: string;
}

interface SpecFields {
  address?: unknown;
  ssh?: { user?: unknown; port?: unknown };
  libvirt?: { uri?: unknown; migrationAddress?: unknown; migrationUri?: unknown };
  capacity?: { cpuCores?: unknown };
}

export function hostEndpoint(target: HostTarget): HostEndpoint {
  const host = target.name;
  const spec = target.spec as SpecFields;
  const where = `PhysicalHost ${host}`;
  const address = validHostAddress(spec.address, `${where} spec.address`);
  const user = spec.ssh?.user === undefined ? 'root' : validSshUser(spec.ssh.user, `${where} spec.ssh.user`);
  const port = spec.ssh?.port ?? 22;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new HypervisorError('InvalidSpec', `${where} spec.ssh.port: ${JSON.stringify(port)} is not a port number`, host);
  }
  const privateKey = target.secrets?.['ssh-privatekey'];
  const knownHostsText = target.secrets?.['known_hosts'];
  if (!privateKey) throw new HypervisorError('MissingSecret', `${where}: its SSH Secret has no \`ssh-privatekey\``, host);
  if (!knownHostsText) throw new HypervisorError('MissingSecret', `${where}: its SSH Secret has no \`known_hosts\` (host keys are always checked)`, host);
  const knownHosts = parseKnownHosts(knownHostsText, `${where} Secret known_hosts`);
  const libvirtUri = spec.libvirt?.uri === undefined ? 'qemu:///system' : validLibvirtUri(spec.libvirt.uri, `${where} spec.libvirt.uri`);
  const migrationAddress =
    spec.libvirt?.migrationAddress === undefined ? undefined : validHostAddress(spec.libvirt.migrationAddress, `${where} spec.libvirt.migrationAddress`);
  const migrationUri =
    spec.libvirt?.migrationUri === undefined
      ? validLibvirtUri(`qemu+ssh://${bracketed(migrationAddress ?? address)}/system`, `${where} spec.address`)
      : validLibvirtUri(spec.libvirt.migrationUri, `${where} spec.libvirt.migrationUri`);
  const migrationDataUri =
    migrationAddress === undefined ? undefined : validMigrationDataUri(`tcp://${bracketed(migrationAddress)}`, `${where} spec.libvirt.migrationAddress`);
  const cores = spec.capacity?.cpuCores;
  const capacityCores = typeof cores === 'number' && cores > 0 ? cores : 1;
  const poolKey = createHash('sha256')
    .update(JSON.stringify([host, address, port, user, privateKey, knownHostsText]))
    .digest('hex');
  return { host, address, port, user, privateKey, knownHosts, libvirtUri, migrationUri, migrationDataUri, capacityCores, poolKey };
}

/** IPv6 literals go in brackets inside URIs. */
function bracketed(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}
