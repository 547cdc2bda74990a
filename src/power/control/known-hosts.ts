/**
 * Strict host-key checking against an OpenSSH known_hosts text (from the host's Secret):
 * a host key is accepted only when a line names this host (plainly, as `[host]:port`, or
 * hashed `|1|salt|hash`) with exactly this key. Nothing is ever learned or asked.
 */
import { createHmac } from 'node:crypto';

interface KnownKey {
  patterns: string[];
  keyType: string;
  key: Buffer;
  revoked: boolean;
}

export function parseKnownHosts(text: string): KnownKey[] {
  const keys: KnownKey[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let revoked = false;
    if (fields[0]!.startsWith('@')) {
      const marker = fields.shift();
      if (marker === '@cert-authority') continue; // certificates are not used here
      revoked = marker === '@revoked';
    }
    const [hosts, keyType, key] = fields;
    if (!hosts || !keyType || !key) continue;
    keys.push({ patterns: hosts.split(','), keyType, key: Buffer.from(key, 'base64'), revoked });
  }
  return keys;
}

/** How known_hosts names a host: `host` on port 22, `[host]:port` otherwise. */
function hostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function matches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  const glob = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return glob.test(name);
}

/** Whether `key` (the raw key blob the server presented) is known for host:port and not revoked. */
export function isKnownHostKey(knownHosts: string, host: string, port: number, key: Buffer): boolean {
  const name = hostName(host, port);
  const entries = parseKnownHosts(knownHosts);
  if (entries.some((e) => e.revoked && e.key.equals(key))) return false;
  return entries.some((e) => !e.revoked && e.key.equals(key) && e.patterns.some((p) => !p.startsWith('!') && matches(p, name)) && !e.patterns.some((p) => p.startsWith('!') && matches(p.slice(1), name)));
}
