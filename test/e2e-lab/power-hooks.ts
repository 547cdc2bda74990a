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
 *   host on (lab.powerOn), shim included.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { Lab } from '../lab/lab.ts';
import { runSshCommand } from '../../src/power/control/ssh-poweroff.ts';

export const SHIM_CHECK = 'systemctl --tide-lab-shim-check';

export interface PowerEvent {
  host: string;
  atMs: number;
  /** What happened: the command received, and how the lab host took it. */
  what: 'poweroff-requested' | 'powered-off' | 'poweroff-refused' | 'magic-packet' | 'powered-on' | 'power-on-failed';
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

export async function startPowerHooks(lab: Lab): Promise<PowerHooks> {
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
    // A NIC that is already on ignores the packet; so do the copies sent while it boots.
    if (lab.isOn(host) || busy.has(host)) return;
    busy.add(host);
    lab
      .powerOn(host)
      .then(() => hooks.installShim(host))
      .then(() => record(host, 'powered-on'))
      .catch((err: Error) => record(host, 'power-on-failed', err.message))
      .finally(() => busy.delete(host));
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
    async stop() {
      udp.close();
      await new Promise<void>((resolve) => control.close(() => resolve()));
    },
  };
  try {
    for (const host of names) if (lab.isOn(host)) await hooks.installShim(host);
  } catch (err) {
    // The sockets opened above would keep the test process alive for ever after a failed start.
    await hooks.stop();
    throw err;
  }
  return hooks;
}
