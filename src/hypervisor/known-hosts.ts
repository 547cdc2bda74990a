/**
 * OpenSSH known_hosts, read strictly: a host key is trusted only when a line for this host
 * carries exactly this key. Supports plain and hashed (`|1|salt|hash`) host fields, patterns
 * with `*`, `?` and `!`, the `[host]:port` form for ports other than 22, and `@revoked` lines.
 * `@cert-authority` lines are skipped: Tide does not verify host certificates, so they can
 * never make a key trusted.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { HypervisorError } from './errors.ts';

export interface KnownHostEntry {
  marker?: 'revoked' | 'cert-authority';
  hostField: string;
  keyType: string;
  key: Buffer;
  line: number;
}

export type HostKeyVerdict = 'trusted' | 'unknown' | 'mismatch' | 'revoked';

/** Parses known_hosts text; `source` names it in errors (e.g. `Secret tide/node1-ssh known_hosts`). */
export function parseKnownHosts(text: string, source: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0].startsWith('@')) {
      const name = fields.shift()!.slice(1);
      if (name !== 'revoked' && name !== 'cert-authority') {
        throw new HypervisorError('InvalidSpec', `${source} line ${index + 1}: unknown marker @${name}`);
      }
      marker = name;
    }
    const [hostField, keyType, keyBase64] = fields;
    if (!hostField || !keyType || !keyBase64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(keyBase64)) {
      throw new HypervisorError('InvalidSpec', `${source} line ${index + 1}: expected "[marker] hosts key-type base64-key"`);
    }
    const key = Buffer.from(keyBase64, 'base64');
    // The blob starts with its own type name; a line whose two disagree is corrupt.
    const typeLength = key.length >= 4 ? key.readUInt32BE(0) : -1;
    if (typeLength < 0 || key.subarray(4, 4 + typeLength).toString('latin1') !== keyType) {
      throw new HypervisorError('InvalidSpec', `${source} line ${index + 1}: key blob is not a ${keyType} key`);
    }
    entries.push({ marker, hostField, keyType, key, line: index + 1 });
  });
  return entries;
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.');
  return new RegExp(`^${body}$`, 'i');
}

function hashedFieldMatches(field: string, name: string): boolean {
  const [, magic, salt, hash] = field.split('|');
  if (magic !== '1' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Does a host field (comma-separated patterns, or one hashed name) cover `name`? */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|')) return hashedFieldMatches(field, name);
  let matched = false;
  for (const pattern of field.split(',')) {
    const negated = pattern.startsWith('!');
    if (!globToRegExp(negated ? pattern.slice(1) : pattern).test(name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** Judges the key a server presented for `host`:`port` against known_hosts entries. */
export function checkHostKey(entries: readonly KnownHostEntry[], host: string, port: number, presented: Buffer): HostKeyVerdict {
  const name = knownHostsName(host, port);
  const forHost = entries.filter((entry) => hostFieldMatches(entry.hostField, name));
  if (forHost.some((entry) => entry.marker === 'revoked' && entry.key.equals(presented))) return 'revoked';
  const candidates = forHost.filter((entry) => entry.marker === undefined);
  if (candidates.some((entry) => entry.key.equals(presented))) return 'trusted';
  return candidates.length > 0 ? 'mismatch' : 'unknown';
}

/**
 * Host key algorithms to offer for this host: those of its known keys, so that a server holding
 * several keys presents one we can check (as OpenSSH orders them) rather than an unknown one.
 */
export function hostKeyAlgorithms(entries: readonly KnownHostEntry[], host: string, port: number): string[] {
  const name = knownHostsName(host, port);
  const types = new Set(entries.filter((e) => e.marker === undefined && hostFieldMatches(e.hostField, name)).map((e) => e.keyType));
  return [...types].flatMap((type) => (type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type]));
}
