/**
 * PlanetLab traces (as in CloudSim's examples): one file per VM, one line per 5 minutes, each
 * line the VM's CPU utilisation in % — optionally followed by its memory use in % of the VM's
 * size (`cpu mem`, separated by spaces or tabs), as real traces and Tide's own history carry.
 * Every line of a file has the same number of columns. Bad input names the file and the line.
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

export interface TraceColumns {
  /** CPU utilisation in %, one sample per line. */
  cpu: number[];
  /** Memory use in % of the VM's size, one sample per line; absent for one-column files. */
  memory?: number[];
}

const COLUMNS = ['CPU', 'memory'] as const;

/** Both columns of a trace file; one-column files have no `memory`. */
export function parseTraceColumns(text: string, file: string): TraceColumns {
  const lines = text.split(/\r?\n/);
  // A trailing newline leaves one empty last line; any other empty line is an error.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new TraceError(`${file}: the trace is empty (expected one CPU percentage per line)`);
  const width = lines[0].trim().split(/\s+/).length === 2 ? 2 : 1;
  const columns: number[][] = COLUMNS.slice(0, width).map(() => []);
  lines.forEach((raw, index) => {
    const at = `${file}:${index + 1}`;
    const fields = raw.trim() === '' ? [] : raw.trim().split(/\s+/);
    const got = JSON.stringify(raw.slice(0, 40));
    if (width === 1 && fields.length !== 1) {
      throw new TraceError(`${at}: expected a CPU percentage (a number from 0 to 100)${index === 0 ? ', optionally followed by a memory percentage' : ''}, got ${got}`);
    }
    if (width === 2 && fields.length !== 2) throw new TraceError(`${at}: expected a CPU and a memory percentage (two numbers from 0 to 100, as on line 1), got ${got}`);
    fields.forEach((field, c) => {
      const value = Number(field);
      if (!Number.isFinite(value)) {
        throw new TraceError(width === 1 ? `${at}: expected a CPU percentage (a number from 0 to 100), got ${got}` : `${at}: expected a ${COLUMNS[c]} percentage (a number from 0 to 100) in column ${c + 1}, got ${got}`);
      }
      if (value < 0 || value > 100) throw new TraceError(`${at}: ${COLUMNS[c]} percentage ${value} is outside 0–100`);
      columns[c].push(value);
    });
  });
  return width === 2 ? { cpu: columns[0], memory: columns[1] } : { cpu: columns[0] };
}

/** The CPU column of a trace file (scenario VMs follow CPU only). */
export function parseTrace(text: string, file: string): number[] {
  return parseTraceColumns(text, file).cpu;
}

export interface Trace {
  /** The file name, which becomes the VM's name. */
  name: string;
  file: string;
  /** CPU utilisation in %, one per interval. */
  samples: number[];
  /** Memory use in % of the VM's size, one per interval, when the file has a second column. */
  memory?: number[];
}

/** Sample `k` of a trace, the last one repeating past its end. */
export function sampleAt(samples: readonly number[], k: number): number {
  return samples[Math.min(k, samples.length - 1)];
}

/** MiB a VM of `sizeMiB` uses at sample `k`: its whole size without a memory column, else the column's share of it. */
export function memoryFootprintMiB(sizeMiB: number, memory: readonly number[] | undefined, k: number): number {
  return memory ? (sizeMiB * sampleAt(memory, k)) / 100 : sizeMiB;
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
    .map(({ name, file }) => {
      const { cpu, memory } = parseTraceColumns(readFileSync(file, 'utf8'), file);
      return { name, file, samples: cpu, ...(memory && { memory }) };
    });
  if (traces.length === 0) throw new TraceError(`${dir}: no trace files in the directory`);
  return traces;
}
