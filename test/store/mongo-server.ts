/**
 * Which MongoDB wire-protocol server the MongoDB store's tests run against:
 *
 * - `MONGODB_URI` set: that server (a real MongoDB, or anything the developer points it at);
 * - otherwise FerretDB, built from the github.com/FerretDB/FerretDB Go module with its SQLite
 *   backend and started here by scripts/ferretdb.sh (no MongoDB server can be installed from the
 *   registries the build machines reach). REQUIRED when CI=true: a missing Go or a failed build
 *   fails the run. On by default locally too; a developer opts out with TIDE_FERRETDB=0, and the
 *   tests then show as skipped, naming that variable.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const FERRETDB_SCRIPT = join(ROOT, 'scripts/ferretdb.sh');

const pinned = readFileSync(FERRETDB_SCRIPT, 'utf8');
/** The FerretDB version scripts/ferretdb.sh builds. */
export const FERRETDB_VERSION = process.env.TIDE_FERRETDB_VERSION || /^FERRETDB_VERSION=(\S+)$/m.exec(pinned)![1]!;

export type MongoTier =
  | { kind: 'uri'; uri: string; name: string; reason: string }
  | { kind: 'ferretdb'; name: string; reason: string }
  | { kind: 'skip'; name: string; reason: string };

export function mongoTier(env: NodeJS.ProcessEnv = process.env): MongoTier {
  if (env.MONGODB_URI) return { kind: 'uri', uri: env.MONGODB_URI, name: 'MongoDB at MONGODB_URI', reason: 'MONGODB_URI is set' };
  const name = `FerretDB ${FERRETDB_VERSION} (SQLite backend)`;
  const ci = env.CI === 'true' || env.CI === '1';
  const optOut = env.TIDE_FERRETDB === '0';
  if (ci) return { kind: 'ferretdb', name, reason: optOut ? 'CI=true: required in CI (TIDE_FERRETDB=0 is ignored there)' : 'CI=true: required in CI' };
  if (optOut) return { kind: 'skip', name, reason: 'TIDE_FERRETDB=0 is set (unset it to build and run FerretDB, or set MONGODB_URI)' };
  return { kind: 'ferretdb', name, reason: 'on by default (TIDE_FERRETDB=0 skips it locally)' };
}

export interface RunningServer {
  uri: string;
  /** The server's log (FerretDB's, in its directory). */
  logPath: string;
  stop(): Promise<void>;
}

function runScript(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [FERRETDB_SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      // Build progress and timings, visible in the test output.
      process.stderr.write(d);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Builds (once per version, cached) and starts a private FerretDB with its data in a temporary directory. */
export async function startFerretDB(): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tide-ferretdb-'));
  const up = await runScript(['up', dir]);
  if (up.code !== 0) {
    rmSync(dir, { recursive: true, force: true });
    const why = up.stderr.trim().split('\n').filter((l) => l.startsWith('ferretdb.sh:')).at(-1) ?? up.stderr.trim().split('\n').at(-1);
    throw new Error(`FerretDB could not be started (${why ?? `exit ${up.code}`}); locally, TIDE_FERRETDB=0 skips this tier`);
  }
  let stopped = false;
  // Backstop: a test process that ends without running `after` (an uncaught error) still stops it.
  const onExit = () => {
    if (!stopped) spawnSync('bash', [FERRETDB_SCRIPT, 'down', dir], { stdio: 'ignore' });
  };
  process.once('exit', onExit);
  return {
    uri: up.stdout.trim(),
    logPath: join(dir, 'ferretdb.log'),
    async stop() {
      if (stopped) return;
      stopped = true;
      process.off('exit', onExit);
      await runScript(['down', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
