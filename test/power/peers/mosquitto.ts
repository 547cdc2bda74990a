/** A Mosquitto broker on a free loopback port with its own temporary config. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canConnect, freePort } from './ports.ts';
import { requireProgram, startProcess, type Started } from './processes.ts';
import { waitFor } from './wait.ts';

export interface Broker {
  url: string;
  process: Started;
}

export async function startMosquitto(dir: string): Promise<Broker> {
  requireProgram('mosquitto', 'mosquitto');
  const port = await freePort();
  const config = join(dir, 'mosquitto.conf');
  writeFileSync(config, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n`);
  const process = startProcess('mosquitto', ['-c', config]);
  await waitFor(`mosquitto on port ${port} (${process.output()})`, () => canConnect(port), 15_000);
  return { url: `mqtt://127.0.0.1:${port}`, process };
}
