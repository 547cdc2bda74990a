/**
 * Wake-on-LAN: a UDP datagram carrying the "magic packet" — 6 bytes of 0xFF followed by the
 * target's MAC address 16 times — sent to a broadcast address, which the sleeping NIC matches.
 */
import { createSocket } from 'node:dgram';

const MAC = /^([0-9A-Fa-f]{2})[:-]([0-9A-Fa-f]{2})[:-]([0-9A-Fa-f]{2})[:-]([0-9A-Fa-f]{2})[:-]([0-9A-Fa-f]{2})[:-]([0-9A-Fa-f]{2})$/;

export function magicPacket(macAddress: string): Buffer {
  const m = MAC.exec(macAddress);
  if (!m) throw new Error(`'${macAddress}' is not a MAC address (expected e.g. 52:54:00:12:34:56)`);
  const mac = Buffer.from(m.slice(1).join(''), 'hex');
  return Buffer.concat([Buffer.alloc(6, 0xff), ...Array.from({ length: 16 }, () => mac)]);
}

export interface WakeOnLanTarget {
  macAddress: string;
  broadcastAddress: string;
  port: number;
}

/**
 * Sends the magic packet `copies` times (UDP is lossy; NICs ignore duplicates) with
 * SO_BROADCAST set, as a broadcast destination requires.
 */
export async function sendMagicPacket(target: WakeOnLanTarget, copies = 3): Promise<void> {
  const packet = magicPacket(target.macAddress);
  const socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, () => resolve());
    });
    socket.setBroadcast(true);
    for (let i = 0; i < copies; i++) {
      await new Promise<void>((resolve, reject) =>
        socket.send(packet, target.port, target.broadcastAddress, (err) =>
          err ? reject(new Error(`Wake-on-LAN to ${target.broadcastAddress}:${target.port}: ${err.message}`)) : resolve(),
        ),
      );
    }
  } finally {
    socket.close();
  }
}
