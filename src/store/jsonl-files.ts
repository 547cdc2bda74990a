/**
 * JSON Lines on disk, as the embedded store uses them: one JSON value per line, appended.
 * A crash can leave a torn last line; readers skip lines that do not parse and count them,
 * rather than refusing the whole history.
 */
import { open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface ParsedLines<T> {
  values: T[];
  /** Lines that were not valid JSON (a torn write), with their 1-based line numbers. */
  badLines: number[];
}

export async function readJsonLines<T>(file: string): Promise<ParsedLines<T>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { values: [], badLines: [] };
    throw err;
  }
  const values: T[] = [];
  const badLines: number[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') continue;
    try {
      values.push(JSON.parse(line) as T);
    } catch {
      badLines.push(i + 1);
    }
  }
  return { values, badLines };
}

export function toJsonLines(values: unknown[]): string {
  return values.map((v) => JSON.stringify(v) + '\n').join('');
}

/**
 * Appends lines; with `sync`, returns only once they are on disk (fdatasync). A torn line left by
 * an earlier crash is ended first, so the new lines stay readable.
 */
export async function appendJsonLines(file: string, values: unknown[], sync: boolean): Promise<void> {
  const handle = await open(file, 'a+');
  try {
    const { size } = await handle.stat();
    let prefix = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    await handle.appendFile(prefix + toJsonLines(values), 'utf8');
    if (sync) await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** Replaces a file's content atomically: temp file, fsync, rename, fsync of the directory. */
export async function rewriteJsonLines(file: string, values: unknown[]): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(toJsonLines(values), 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
  const dir = await open(dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** The directory's files ending in `suffix`, sorted by name; none if the directory is missing. */
export async function listFiles(dir: string, suffix: string): Promise<string[]> {
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  return names.filter((f) => f.endsWith(suffix)).sort().map((f) => join(dir, f));
}

export async function removeFile(file: string): Promise<void> {
  await unlink(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}
