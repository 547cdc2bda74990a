/**
 * Allow-lists for every string from a resource that reaches a remote command line. Anything
 * outside them is refused before a connection is even opened; what passes is quoted as well.
 */
import { LIBVIRT_URI_PATTERN } from '../api/physical-host.ts';
import { DOMAIN_NAME_PATTERN } from '../api/vm-placement.ts';
import { HypervisorError } from './errors.ts';

const DOMAIN_NAME = new RegExp(DOMAIN_NAME_PATTERN);
/** qemu+ssh://user@host:port/system?param=value — the CRD's pattern (no `ext` transport, no `command`/`netcat`, no leading `-`). */
const LIBVIRT_URI = new RegExp(LIBVIRT_URI_PATTERN);
/** The data transport of a migration: tcp://host[:port] (or rdma, unix is not routable). */
const MIGRATION_DATA_URI = /^(tcp|rdma):\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$/;
const HOST_ADDRESS = /^[A-Za-z0-9]([A-Za-z0-9.:-]{0,251}[A-Za-z0-9])?$/;
const SSH_USER = /^[a-z_][a-z0-9_-]{0,31}$/;

function check(pattern: RegExp, value: unknown, what: string, where: string): string {
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new HypervisorError('InvalidName', `${where}: invalid ${what} ${JSON.stringify(value)} (allowed: ${pattern.source})`);
  }
  return value;
}

export const validDomainName = (value: unknown, where: string) => check(DOMAIN_NAME, value, 'domain name', where);
export const validLibvirtUri = (value: unknown, where: string) => check(LIBVIRT_URI, value, 'libvirt URI', where);
export const validMigrationDataUri = (value: unknown, where: string) => check(MIGRATION_DATA_URI, value, 'migration data URI', where);
export const validHostAddress = (value: unknown, where: string) => check(HOST_ADDRESS, value, 'host address', where);
export const validSshUser = (value: unknown, where: string) => check(SSH_USER, value, 'SSH user', where);
