/**
 * Real power commands for lab hosts, so that Tide's own power driver can be exercised end to end:
 *
 * - **SSH power-off.** Inside each lab host's private mount namespace, /usr/bin/systemctl is
 *   bind-mounted over by a shim that only knows `systemctl poweroff`: it tells this process
 *   (through a unix socket in the lab folder), which then powers the lab host off the orderly way
 *   (lab.powerOff: refused while a guest runs). Tide's real path runs unchanged — ssh2 with strict
 *   host-key checking to the host's sshd, `systemctl poweroff`, then confirmation by observing the
 *   host unreachable. The machine's own systemctl is never reached: the mount exists only in the
 *   lab host's namespace, and the shim is checked over SSH before any test relies on it.
 * - **Wake-on-LAN.** A UDP listener on 127.0.0.1 (the only address it ever uses) receives Tide's
 *   magic packets, checks them byte by byte against each host's MAC, and powers the matching lab
 *   host on (lab.powerOn), shim included. With `nics`, the packet takes the lab's network instead:
 *   it is broadcast on the lab switch (from 10.213.0.1) to UDP port 9, where each host's standby
 *   NIC (lab.sh nic-up: a namespace of its own, since the host's namespace is gone while it is
 *   off) hears it and powers its host on — unless an nftables rule in that NIC's namespace drops
 *   it (dropWakeOnLan), as a switch or NIC that loses the packet would.
 * - **IPMI.** Hosts in `bmcHosts` get a BMC: OpenIPMI's `ipmi_sim` on a loopback UDP port
 *   (test/power/peers/ipmi-sim.ts); its `chassis power on` powers the lab host on.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { Lab } from '../lab/lab.ts';
import { runSshCommand } from '../../src/power/control/ssh-poweroff.ts';
import { startIpmiSim, type SimulatedBmc } from '../power/peers/ipmi-sim.ts';

const LAB_SCRIPT = fileURLToPath(new URL('../lab/lab.sh', import.meta.url));
/** Prints each datagram that reaches UDP port 9 in its namespace, as hex, one per line. */
const NIC_LISTENER = "const s=require('dgram').createSocket('udp4');s.on('message',(m)=>process.stdout.write(m.toString('hex')+'\\n'));s.bind(9,()=>process.stdout.write('ready\\n'));";
/** Broadcasts each hex line of its input on the lab switch, to UDP port 9. */
const SWITCH_RELAY = "const s=require('dgram').createSocket('udp4');s.bind(0,'10.213.0.1',()=>{s.setBroadcast(true);process.stdout.write('ready\\n');});require('readline').createInterface({input:process.stdin}).on('line',(l)=>s.send(Buffer.from(l,'hex'),9,'10.213.0.255'));";

export interface PowerHookOptions {
  /** Wake-on-LAN through the lab's network and each host's standby NIC (see the file comment). */
  nics?: boolean;
  /** Hosts that get a BMC (ipmi_sim) whose `chassis power on` powers them on. */
  bmcHosts?: string[];
}

export const SHIM_CHECK = 'systemctl --tide-lab-shim-check';

export interface PowerEvent {
  host: string;
  atMs: number;
  /** What happened: the command received, and how the lab host took it. */
  what: 'poweroff-requested' | 'powered-off' | 'poweroff-refused' | 'magic-packet' | 'wol-heard' | 'ipmi-power-on' | 'powered-on' | 'power-on-failed';
  detail?: string;
}

export interface PowerHooks {
  /** UDP port on 127.0.0.1 that Wake-on-LAN packets must go to. */
  wolPort: number;
  /** MAC address each host answers to. */
  macOf(host: string): string;
  /** Everything the hooks saw, oldest first. */
  events: PowerEvent[];
  /** Datagrams that were not a valid magic packet for a lab host (counted, never acted on). */
  rejectedPackets: number;
  /** Puts the shim in place on a host that is on (done for every host at start and after each wake). */
  installShim(host: string): Promise<void>;
  /** The host's BMC, for the hosts in `bmcHosts`. */
  bmc(host: string): SimulatedBmc;
  /** An nftables rule in the host's standby NIC namespace drops every Wake-on-LAN packet (needs `nics`). */
  dropWakeOnLan(host: string): Promise<void>;
  stop(): Promise<void>;
}

/** A locally administered MAC per host (02:…), derived from its index so it is stable. */
function macFor(index: number): string {
  return `02:74:69:64:65:${(index + 1).toString(16).padStart(2, '0')}`;
}

/** The magic packet's MAC, when `packet` is one: 6 × 0xFF then the same 6 bytes 16 times. */
export function macInMagicPacket(packet: Buffer): string | undefined {
  if (packet.length !== 102 || !packet.subarray(0, 6).every((b) => b === 0xff)) return undefined;
  const mac = packet.subarray(6, 12);
  for (let i = 1; i < 16; i++) if (!packet.subarray(6 + 6 * i, 12 + 6 * i).equals(mac)) return undefined;
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** A long-running command inside the lab (lab.sh nic-exec / switch-exec), once it printed 'ready'. */
async function labProcess(args: string[], onLine: (line: string) => void): Promise<ChildProcess> {
  const child = spawn('bash', [LAB_SCRIPT, ...args], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lab.sh ${args[0]}: not ready after 10 s: ${stderr}`)), 10_000);
    child.once('exit', (code) => reject(new Error(`lab.sh ${args[0]} exited (${code}): ${stderr}`)));
    lines.on('line', (line) => (line === 'ready' ? (clearTimeout(timer), resolve()) : onLine(line)));
  });
  return child;
}

function stopLabProcess(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL'); // its process group: bash, ip netns exec, node
  } catch {
    // already gone
  }
}

export async function startPowerHooks(lab: Lab, options: PowerHookOptions = {}): Promise<PowerHooks> {
  const names = Object.keys(lab.hosts);
  const macs = new Map(names.map((name, i) => [name, macFor(i)]));
  const events: PowerEvent[] = [];
  const record = (host: string, what: PowerEvent['what'], detail?: string) => events.push({ host, atMs: Date.now(), what, ...(detail ? { detail } : {}) });
  const shimDir = `${lab.dir}/e2e-power`;
  const socketPath = `${shimDir}/power.sock`;
  mkdirSync(shimDir, { recursive: true });
  rmSync(socketPath, { force: true });
  const busy = new Set<string>();

  // systemctl poweroff → a line with the host's name on the socket → an orderly lab power-off,
  // a moment later (as a real host's shutdown starts after systemctl has returned).
  const control: Server = createServer((socket) => {
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    socket.on('error', () => {});
    socket.on('end', () => {
      const host = text.trim();
      if (!macs.has(host) || busy.has(host)) return;
      record(host, 'poweroff-requested');
      busy.add(host);
      setTimeout(() => {
        lab
          .powerOff(host)
          .then(() => record(host, 'powered-off'))
          .catch((err: Error) => record(host, 'poweroff-refused', err.message))
          .finally(() => busy.delete(host));
      }, 300);
    });
  });
  await new Promise<void>((resolve, reject) => control.once('error', reject).listen(socketPath, resolve));

  const powerOnHost = (host: string) => {
    // A NIC that is already on ignores the packet; so do the copies sent while it boots.
    if (lab.isOn(host) || busy.has(host)) return;
    busy.add(host);
    lab
      .powerOn(host)
      .then(() => hooks.installShim(host))
      .then(() => record(host, 'powered-on'))
      .catch((err: Error) => record(host, 'power-on-failed', err.message))
      .finally(() => busy.delete(host));
  };
  const children: ChildProcess[] = [];
  const timers: NodeJS.Timeout[] = [];
  const bmcs = new Map<string, SimulatedBmc>();
  let relay: ChildProcess | undefined;

  let rejectedPackets = 0;
  const udp: UdpSocket = createSocket('udp4');
  udp.on('message', (packet) => {
    const mac = macInMagicPacket(packet);
    const host = mac && [...macs].find(([, m]) => m === mac)?.[0];
    if (!host) {
      rejectedPackets++;
      return;
    }
    record(host, 'magic-packet', mac);
    if (relay) relay.stdin!.write(`${packet.toString('hex')}\n`);
    else powerOnHost(host);
  });
  await new Promise<void>((resolve, reject) => udp.once('error', reject).bind(0, '127.0.0.1', resolve));

  const hooks: PowerHooks = {
    wolPort: udp.address().port,
    macOf(host) {
      const mac = macs.get(host);
      if (!mac) throw new Error(`power hooks: no lab host ${host}`);
      return mac;
    },
    events,
    get rejectedPackets() {
      return rejectedPackets;
    },
    async installShim(host) {
      const shim = `${shimDir}/systemctl-${host}`;
      writeFileSync(
        shim,
        [
          '#!/bin/sh',
          `# Tide e2e lab: systemctl on lab host ${host}. Only 'systemctl poweroff' is emulated.`,
          'case "$1" in',
          '  --tide-lab-shim-check) echo tide-lab-shim; exit 0 ;;',
          `  poweroff) printf '%s\\n' '${host}' | exec socat -u - 'UNIX-CONNECT:${socketPath}' ;;`,
          "  *) echo \"lab host: only 'systemctl poweroff' is emulated\" >&2; exit 1 ;;",
          'esac',
          '',
        ].join('\n'),
      );
      chmodSync(shim, 0o755);
      await lab.exec(host, 'mount', '--bind', shim, '/usr/bin/systemctl');
      // Through the same door Tide uses (sshd, the root shell's PATH): the shim must answer.
      const h = lab.hosts[host]!;
      const target = lab.target(host);
      await runSshCommand(
        { host: h.sshAddress, port: h.sshPort, username: h.sshUser, privateKey: target.secrets!['ssh-privatekey']!, knownHosts: lab.knownHosts() },
        SHIM_CHECK,
      ).catch((err: Error) => {
        throw new Error(`power hooks: the systemctl shim does not answer over SSH on ${host}; refusing to go on: ${err.message}`);
      });
    },
    bmc(host) {
      const bmc = bmcs.get(host);
      if (!bmc) throw new Error(`power hooks: ${host} has no BMC (bmcHosts)`);
      return bmc;
    },
    async dropWakeOnLan(host) {
      if (!relay) throw new Error('power hooks: dropWakeOnLan needs the standby NICs (nics: true)');
      const nft = (...rule: string[]) => promisify(execFile)('bash', [LAB_SCRIPT, 'nic-exec', lab.dir, host, 'nft', ...rule]);
      await nft('add', 'table', 'inet', 'tidelab');
      await nft('add', 'chain', 'inet', 'tidelab', 'input', '{ type filter hook input priority 0 ; policy accept ; }');
      await nft('add', 'rule', 'inet', 'tidelab', 'input', 'udp', 'dport', '9', 'counter', 'drop');
    },
    async stop() {
      udp.close();
      for (const t of timers) clearInterval(t);
      for (const child of children) stopLabProcess(child);
      await Promise.all([...bmcs.values()].map((b) => b.process.stop()));
      await new Promise<void>((resolve) => control.close(() => resolve()));
    },
  };
  try {
    if (options.nics) {
      for (const [index, host] of names.entries()) {
        await promisify(execFile)('bash', [LAB_SCRIPT, 'nic-up', lab.dir, host, String(index)]);
        children.push(await labProcess(['nic-exec', lab.dir, host, process.execPath, '-e', NIC_LISTENER], (hex) => {
          if (macInMagicPacket(Buffer.from(hex, 'hex')) !== macs.get(host)) return;
          record(host, 'wol-heard');
          powerOnHost(host);
        }));
      }
      relay = await labProcess(['switch-exec', lab.dir, process.execPath, '-e', SWITCH_RELAY], () => {});
      children.push(relay);
    }
    for (const host of options.bmcHosts ?? []) {
      const dir = `${lab.dir}/bmc-${host}`;
      mkdirSync(dir, { recursive: true });
      const bmc = await startIpmiSim(dir);
      bmcs.set(host, bmc);
      let seen = 0;
      timers.push(setInterval(() => {
        const powerOns = bmc.calls().match(/^set power 1$/gm)?.length ?? 0;
        if (powerOns === seen) return;
        seen = powerOns;
        record(host, 'ipmi-power-on');
        powerOnHost(host);
      }, 200));
    }
    for (const host of names) if (lab.isOn(host)) await hooks.installShim(host);
  } catch (err) {
    // The sockets opened above would keep the test process alive for ever after a failed start.
    await hooks.stop();
    throw err;
  }
  return hooks;
}
