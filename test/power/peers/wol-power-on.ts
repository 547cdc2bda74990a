/**
 * Runs HostPowerDriver.powerOn for a Wake-on-LAN host from inside the sender's network
 * namespace, observing the host as on once the listener's awake file exists; prints the
 * outcome as JSON.
 *   node --import tsx wol-power-on.ts '<json: {mac, broadcast, port, awakeFile, bootTimeoutSeconds}>'
 */
import { existsSync } from 'node:fs';
import { systemClock } from '../../../src/api/clock.ts';
import { PowerActionError } from '../../../src/api/drivers.ts';
import { HostPowerDriver } from '../../../src/power/control/host-power-driver.ts';

const args = JSON.parse(process.argv[2]!) as { mac: string; broadcast: string; port: number; awakeFile: string; bootTimeoutSeconds: number };
const driver = new HostPowerDriver({
  observe: async () => (existsSync(args.awakeFile) ? 'on' : 'off'),
  domainsOn: async () => [],
  clock: systemClock,
  pollMs: 100,
});
const host = {
  name: 'node-wol',
  spec: {
    address: '10.231.7.2',
    capacity: { cpuCores: 2, memoryMiB: 2048 },
    power: { onMethod: 'WakeOnLAN', wakeOnLAN: { macAddress: args.mac, broadcastAddress: args.broadcast, port: args.port }, bootTimeoutSeconds: args.bootTimeoutSeconds },
  },
};
try {
  await driver.powerOn(host);
  console.log(JSON.stringify({ ok: true }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, powerActionError: err instanceof PowerActionError, error: (err as Error).message }));
}
