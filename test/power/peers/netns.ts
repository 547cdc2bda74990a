/**
 * Two network namespaces of the test's own joined by a veth pair, addressed 10.231.7.1/24
 * (sender) and 10.231.7.2/24 (listener). Addresses exist only inside these namespaces, and
 * deleting the namespaces removes the veth pair with them.
 */
import { execFileSync } from 'node:child_process';
import { requireProgram } from './processes.ts';

export interface NamespacePair {
  sender: string;
  listener: string;
  broadcast: string;
  remove(): void;
}

export function createNamespacePair(tag: string): NamespacePair {
  requireProgram('ip', 'iproute2');
  const sender = `tide-${tag}-${process.pid}-s`;
  const listener = `tide-${tag}-${process.pid}-l`;
  const vs = `tw${process.pid}s`;
  const vl = `tw${process.pid}l`;
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
  const remove = () => {
    for (const ns of [sender, listener]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // not created
      }
    }
  };
  try {
    ip('netns', 'add', sender);
    ip('netns', 'add', listener);
    ip('link', 'add', vs, 'netns', sender, 'type', 'veth', 'peer', 'name', vl, 'netns', listener);
    for (const [ns, dev, addr] of [[sender, vs, '10.231.7.1/24'], [listener, vl, '10.231.7.2/24']] as const) {
      ip('-n', ns, 'addr', 'add', addr, 'brd', '+', 'dev', dev);
      ip('-n', ns, 'link', 'set', dev, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
  } catch (err) {
    remove();
    throw new Error(`cannot create the test network namespaces (root and iproute2 needed): ${(err as Error).message}`);
  }
  return { sender, listener, broadcast: '10.231.7.255', remove };
}
