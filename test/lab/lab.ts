/**
 * The hypervisor lab from a test: `const lab = await startLab({ hosts: ['node100', 'node200'] })`.
 * Wraps lab.sh (namespaces, daemons, guests) and adds, per host, a TCP forwarder on 127.0.0.1
 * to the host's sshd inside its namespace, so Tide's driver reaches each host over SSH exactly as
 * it would a real one. Everything is torn down by stop(), on process exit, and — for a run that
 * was killed — by the next startLab (labs whose owner process is gone are removed).
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { HostTarget } from '../../src/api/drivers.ts';

const LAB_SCRIPT = fileURLToPath(new URL('./lab.sh', import.meta.url));
const LAB_BASE = '/tmp/tidelab';
const SUBNET = '10.213.0';
const run = promisify(execFile);

export interface LabOptions {
  hosts: string[];
  /** CPU cores each host declares in its HostTarget (default 2). */
  cpuCores?: number;
  memoryMiB?: number;
}

export interface GuestOptions {
  name: string;
  vcpus?: number;
  /** 96–1024; the guest kernel needs 96 MiB. Default 96. */
  memoryMiB?: number;
  /** CPU load the guest generates on each vCPU, 0–100 %. */
  loadPercent: number;
}

export interface LabHost {
  name: string;
  /** Where Tide reaches the host's sshd (a forwarder into the host's namespace). */
  sshAddress: string;
  sshPort: number;
  sshUser: string;
  /** The host's public key, "ssh-ed25519 AAAA…". */
  hostKey: string;
  /** Its known_hosts line for sshAddress:sshPort. */
  knownHostsLine: string;
  privateKeyPath: string;
  /** libvirt URI on the host itself. */
  libvirtUri: string;
  /** The host's address inside the lab network. */
  labAddress: string;
  /** URI other lab hosts' libvirtd reach this one at (plain TCP inside the lab). */
  migrationUri: string;
}

export interface Lab {
  dir: string;
  /** 'kvm' or 'qemu' (TCG). */
  accel: string;
  hosts: Record<string, LabHost>;
  /** known_hosts with every lab host. */
  knownHosts(): string;
  /** A HostTarget for Tide's driver, with the Secret data (private key, known_hosts) filled in. */
  target(host: string, overrides?: { knownHosts?: string; spec?: Record<string, unknown> }): HostTarget;
  startGuest(host: string, guest: GuestOptions): Promise<void>;
  /** The pid of a guest's QEMU process (from libvirt's pid file; readable while libvirtd is stopped). */
  guestPid(host: string, guest: string): number;
  /** Stops the host's libvirtd alone; its guests keep running (a package upgrade restarting it). */
  stopLibvirtd(host: string): Promise<void>;
  /** Starts the host's libvirtd again; it reconnects to the guests still running. */
  startLibvirtd(host: string): Promise<void>;
  /** Runs virsh (or anything) inside a host; resolves with stdout. */
  exec(host: string, ...argv: string[]): Promise<string>;
  /** Cuts every open TCP connection to the host's sshd (a network blip); new ones still work. */
  dropConnections(host: string): void;
  /** Orderly power-off: refuses while the host runs domains, unless force (pulling the plug). */
  powerOff(host: string, options?: { force?: boolean }): Promise<void>;
  powerOn(host: string): Promise<void>;
  isOn(host: string): boolean;
  stop(): Promise<void>;
}

export async function startLab(options: LabOptions): Promise<Lab> {
  if (options.hosts.length === 0 || options.hosts.length > 50) throw new Error('startLab: between 1 and 50 hosts');
  await run('bash', [LAB_SCRIPT, 'clean-stale']);
  const dir = `${LAB_BASE}/tl${randomBytes(4).toString('hex')}`;
  const prefix = dir.slice(LAB_BASE.length + 1);
  const forwarders: Server[] = [];
  const sockets = new Map<string, Set<Socket>>();
  const on = new Set<string>();
  let stopped = false;

  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    for (const set of sockets.values()) for (const socket of set) socket.destroy();
    for (const server of forwarders) server.close();
    try {
      execFileSync('bash', [LAB_SCRIPT, 'down', dir], { stdio: 'ignore' });
    } catch {
      // the next startLab's clean-stale removes whatever is left
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    stopSync();
    process.kill(process.pid, signal);
  };
  process.once('exit', stopSync);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const script = async (...args: string[]) => {
    try {
      return (await run('bash', [LAB_SCRIPT, ...args], { maxBuffer: 16 * 1024 * 1024 })).stdout;
    } catch (error) {
      const e = error as Error & { stderr?: string };
      throw new Error(`lab.sh ${args[0]} ${args.slice(2).join(' ')}: ${e.stderr?.trim() || e.message}`);
    }
  };

  try {
    await script('up', dir, String(process.pid));
    const hosts: Record<string, LabHost> = {};
    for (const [index, name] of options.hosts.entries()) {
      await script('host-up', dir, name, String(index));
      on.add(name);
      const labAddress = `${SUBNET}.${10 + index}`;
      sockets.set(name, new Set());
      const sshPort = await forward(`${prefix}-${name}`, labAddress, forwarders, sockets.get(name)!);
      const hostKey = readFileSync(`${dir}/hosts/${name}/ssh_host_ed25519_key.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
      hosts[name] = {
        name,
        sshAddress: '127.0.0.1',
        sshPort,
        sshUser: 'root',
        hostKey,
        knownHostsLine: `[127.0.0.1]:${sshPort} ${hostKey}`,
        privateKeyPath: `${dir}/client_key`,
        libvirtUri: 'qemu:///system',
        labAddress,
        migrationUri: `qemu+tcp://${labAddress}/system`,
      };
    }
    const accel = readFileSync(`${dir}/accel`, 'utf8').trim();
    const privateKey = readFileSync(`${dir}/client_key`, 'utf8');
    const hostOf = (name: string) => {
      const host = hosts[name];
      if (!host) throw new Error(`lab: no host ${name} (hosts: ${Object.keys(hosts).join(', ')})`);
      return host;
    };
    const knownHosts = () => Object.values(hosts).map((h) => h.knownHostsLine).join('\n') + '\n';
    return {
      dir,
      accel,
      hosts,
      knownHosts,
      target(name, overrides = {}) {
        const host = hostOf(name);
        return {
          name,
          spec: {
            address: host.sshAddress,
            ssh: { user: host.sshUser, port: host.sshPort },
            libvirt: { uri: host.libvirtUri, migrationAddress: host.labAddress, migrationUri: host.migrationUri },
            capacity: { cpuCores: options.cpuCores ?? 2, memoryMiB: options.memoryMiB ?? 2048 },
            ...overrides.spec,
          },
          secrets: { 'ssh-privatekey': privateKey, known_hosts: overrides.knownHosts ?? knownHosts() },
        };
      },
      async startGuest(name, guest) {
        hostOf(name);
        await script('guest-start', dir, name, guest.name, String(guest.vcpus ?? 1), String(guest.memoryMiB ?? 96), String(guest.loadPercent));
      },
      guestPid(name, guest) {
        hostOf(name);
        const pid = Number(readFileSync(`${dir}/hosts/${name}/run-libvirt/qemu/${guest}.pid`, 'utf8').trim());
        if (!Number.isInteger(pid) || pid <= 1) throw new Error(`lab: no pid for guest ${guest} on ${name}`);
        return pid;
      },
      async stopLibvirtd(name) {
        hostOf(name);
        await script('libvirtd-stop', dir, name);
      },
      async startLibvirtd(name) {
        hostOf(name);
        await script('libvirtd-start', dir, name);
      },
      async exec(name, ...argv) {
        hostOf(name);
        return script('exec', dir, name, ...argv);
      },
      dropConnections(name) {
        hostOf(name);
        for (const socket of sockets.get(name)!) socket.destroy();
      },
      async powerOff(name, { force = false } = {}) {
        hostOf(name);
        await script('host-down', dir, name, ...(force ? ['--force'] : []));
        on.delete(name);
      },
      async powerOn(name) {
        hostOf(name);
        await script('host-up', dir, name, String(options.hosts.indexOf(name)));
        on.add(name);
      },
      isOn: (name) => on.has(name),
      async stop() {
        process.removeListener('exit', stopSync);
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
        stopSync();
      },
    };
  } catch (error) {
    stopSync();
    throw error;
  }
}

/**
 * Listens on an ephemeral 127.0.0.1 port; each connection is carried into the host's network
 * namespace by socat. When the host is powered off its namespace is gone and connections fail,
 * as they would to a machine that is off.
 */
async function forward(namespace: string, address: string, servers: Server[], sockets: Set<Socket>): Promise<number> {
  const server = createServer((socket) => {
    sockets.add(socket);
    const relay = spawn('nsenter', [`--net=/run/netns/${namespace}`, 'socat', 'STDIO', `TCP:${address}:22,connect-timeout=5`], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    socket.pipe(relay.stdin).on('error', () => socket.destroy());
    relay.stdout.pipe(socket);
    relay.on('error', () => socket.destroy());
    relay.on('exit', () => socket.destroy());
    socket.on('error', () => relay.kill('SIGKILL'));
    socket.on('close', () => {
      sockets.delete(socket);
      relay.kill('SIGKILL');
    });
  });
  servers.push(server);
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  server.unref();
  return port;
}
