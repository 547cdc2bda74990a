/**
 * PlanetLab traces (as in CloudSim's examples): one file per VM, one CPU utilisation
 * percentage per line, one line per 5 minutes. Bad input names the file and the line.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const PLANETLAB_INTERVAL_SECONDS = 300;

export class TraceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceError';
  }
}

export function parseTrace(text: string, file: string): number[] {
  const samples: number[] = [];
  const lines = text.split(/\r?\n/);
  // A trailing newline leaves one empty last line; any other empty line is an error.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, index) => {
    const line = raw.trim();
    const value = Number(line);
    if (line === '' || !Number.isFinite(value)) {
      throw new TraceError(`${file}:${index + 1}: expected a CPU percentage (a number from 0 to 100), got ${JSON.stringify(raw.slice(0, 40))}`);
    }
    if (value < 0 || value > 100) throw new TraceError(`${file}:${index + 1}: CPU percentage ${value} is outside 0–100`);
    samples.push(value);
  });
  if (samples.length === 0) throw new TraceError(`${file}: the trace is empty (expected one CPU percentage per line)`);
  return samples;
}

export interface Trace {
  /** The file name, which becomes the VM's name. */
  name: string;
  file: string;
  samples: number[];
}

/** Every regular file in `dir`, in name order (deterministic, unlike a raw directory listing). */
export function readTraceDir(dir: string): Trace[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (err) {
    throw new TraceError(`${dir}: cannot read the trace directory (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const traces = names
    .map((name) => ({ name, file: join(dir, name) }))
    .filter(({ file, name }) => !name.startsWith('.') && statSync(file).isFile())
    .map(({ name, file }) => ({ name, file, samples: parseTrace(readFileSync(file, 'utf8'), file) }));
  if (traces.length === 0) throw new TraceError(`${dir}: no trace files in the directory`);
  return traces;
}
