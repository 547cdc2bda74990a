/**
 * Where the shared PlanetLab data lives: ../shared/data beside the repository (as on every
 * developer machine and in CI), or TIDE_SHARED_DATA. A missing folder fails the tests that
 * need it with a message saying where it was looked for; it is never skipped silently.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED_DATA = process.env.TIDE_SHARED_DATA ?? resolve(repoRoot, '../shared/data');

export function sharedPath(...parts: string[]): string {
  const path = join(SHARED_DATA, ...parts);
  if (!existsSync(path)) throw new Error(`shared data not found: ${path} (set TIDE_SHARED_DATA to the folder holding planetlab/ and cloudsim-reference.json)`);
  return path;
}
