/**
 * Plays a sleeping NIC inside a test network namespace: listens for UDP on the given port,
 * prints every datagram as a JSON line, and "wakes" (creates the awake file) when one is a
 * valid magic packet for its MAC: 6 × 0xFF then the MAC 16 times, 102 bytes.
 *   node --import tsx wol-listener.ts <port> <mac> <awake-file>
 */
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';

const [port, mac, awakeFile] = process.argv.slice(2);
const macBytes = Buffer.from(mac!.replace(/[:-]/g, ''), 'hex');
const expected = Buffer.concat([Buffer.alloc(6, 0xff), ...Array.from({ length: 16 }, () => macBytes)]);
const socket = createSocket({ type: 'udp4', reuseAddr: true });
socket.on('message', (msg, from) => {
  console.log(JSON.stringify({ from: from.address, hex: msg.toString('hex') }));
  if (msg.equals(expected)) writeFileSync(awakeFile!, 'awake\n');
});
socket.bind(Number(port), '0.0.0.0', () => console.log(JSON.stringify({ listening: Number(port) })));
process.on('SIGTERM', () => socket.close(() => process.exit(0)));
