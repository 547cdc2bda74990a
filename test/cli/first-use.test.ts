/**
 * What a new user runs into first, through the real `tide` command: each mistake or busy
 * resource is one clear line on stderr and a non-zero exit, never a stack trace or an endless
 * stream of warnings; `tide --version` works; `tide dev`'s simulated time reads as the present.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { main } from '../../src/cli/main.ts';
import { startDev } from '../../src/cli/dev/start-dev.ts';
import { createLogger } from '../../src/controller/log.ts';
import { loadScenario } from '../../src/sim/scenario.ts';

const TIDE = fileURLToPath(new URL('../../bin/tide.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tide-first-use-'));
const home = join(dir, 'home'); // no ~/.kube/config in it
mkdirSync(home);
// Nothing a developer's own environment holds may leak in: no kubeconfig, no MongoDB.
const env = { HOME: home, KUBECONFIG: '', MONGODB_URI: '' };

interface Result { code: number | null; stdout: string; stderr: string }

/** The real command in its own process: what it prints, and that it ends by itself. */
function tide(args: string[], timeoutMs = 60_000): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TIDE, ...args], { env: { ...process.env, ...env }, cwd: dir, timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

/** Exit code 2 and exactly one line on stderr, matching `message`, with no stack trace. */
function assertOneLineError(r: Result, message: RegExp): void {
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, message);
  assert.doesNotMatch(r.stderr, /\n\s+at |TLS/);
  assert.equal(r.code, 2, `exit code, stderr: ${r.stderr}`);
}

async function busyPort(t: { after(fn: () => unknown): void }): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  return (server.address() as { port: number }).port;
}

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('tide --version and tide version both print the package version', async () => {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const [flag, command] = await Promise.all([tide(['--version']), tide(['version'])]);
  assert.equal(flag.stdout, `tide ${version}\n`);
  assert.equal(command.stdout, flag.stdout);
  assert.equal(flag.code, 0);
});

/** main() in this process (a process per case costs seconds of loading): exit code and stderr. */
async function tideHere(args: string[]): Promise<Result> {
  const lines: string[] = [];
  const error = console.error;
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  console.error = (...parts: unknown[]) => void lines.push(parts.join(' '));
  Object.assign(process.env, env);
  try {
    const code = await main(args);
    return { code, stdout: '', stderr: lines.map((l) => `${l}\n`).join('') };
  } finally {
    console.error = error;
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

test('tide run with no kubeconfig anywhere says so in one line and stops', async () => {
  const r = await tideHere(['run', '--metrics-port', '0', '--data-dir', join(dir, 'run-history')]);
  assertOneLineError(r, /^tide run: no kubeconfig: .*\$KUBECONFIG not set.*--kubeconfig FILE/);
});

test('tide run|dev --metrics-port on a busy port: one line naming the flag', { timeout: 60_000 }, async (t) => {
  const port = await busyPort(t);
  // A valid kubeconfig; the port fails before its server is ever asked anything.
  const kubeconfig = join(dir, 'closed.kubeconfig');
  writeFileSync(kubeconfig, [
    'apiVersion: v1', 'kind: Config', 'current-context: c',
    'clusters: [{name: c, cluster: {server: "https://127.0.0.1:9", insecure-skip-tls-verify: true}}]',
    'users: [{name: u, user: {token: t}}]', 'contexts: [{name: c, context: {cluster: c, user: u}}]', '',
  ].join('\n'));
  const run = await tideHere(['run', '--kubeconfig', kubeconfig, '--metrics-port', String(port), '--metrics-address', '127.0.0.1', '--data-dir', join(dir, 'run-history')]);
  assertOneLineError(run, new RegExp(`^tide run: --metrics-port ${port}: 127\\.0\\.0\\.1:${port} is already in use by another process$`));
  const devKubeconfig = join(dir, 'busy.kubeconfig');
  const dev = await tideHere(['dev', '--metrics-port', String(port), '--kubeconfig', devKubeconfig, '--data-dir', join(dir, 'dev-busy-history')]);
  assertOneLineError(dev, new RegExp(`^tide dev: --metrics-port ${port}: 127\\.0\\.0\\.1:${port} is already in use by another process$`));
  // It wrote no kubeconfig pointing at the API server it stopped again.
  assert.throws(() => readFileSync(devKubeconfig), /ENOENT/);
});

test('a second tide dev while another process holds the history store: one line, and the first one\'s kubeconfig stays', { timeout: 60_000 }, async () => {
  const dataDir = join(dir, 'held-history');
  mkdirSync(join(dataDir, 'history'), { recursive: true });
  // The store's lock as a running writer leaves it: its pid (a live process: our parent).
  writeFileSync(join(dataDir, 'LOCK'), String(process.ppid));
  const kubeconfig = join(dir, 'first.kubeconfig');
  writeFileSync(kubeconfig, 'the first tide dev\'s\n');
  const r = await tideHere(['dev', '--kubeconfig', kubeconfig, '--data-dir', dataDir]);
  assertOneLineError(r, new RegExp(`^tide dev: history store .*held-history is in use by process ${process.ppid} .*give another --data-dir$`));
  assert.equal(readFileSync(kubeconfig, 'utf8'), 'the first tide dev\'s\n');
});

test('tide report: a page into a missing folder, or a folder that is no store, is one line each', async () => {
  const notAStore = join(dir, 'not-a-store');
  mkdirSync(notAStore);
  assertOneLineError(await tideHere(['report', '--store', notAStore, '--html', '/missing/dir/x.html']), /^tide report: --html \/missing\/dir\/x\.html: no such directory \/missing\/dir$/);
  assertOneLineError(await tideHere(['report', '--store', notAStore]), /^tide report: .*not-a-store is not a Tide history store \(no history\/ or samples\/ in it\)/);
});

test("tide dev's simulated clock starts at the present, so status times and ages read naturally", { timeout: 60_000 }, async (t) => {
  const scenario = loadScenario('paper-consolidation');
  assert.ok(Math.abs(scenario.startMs - Date.now()) > 86_400_000, 'the scenario itself starts on another day');
  const dev = await startDev({
    scenario, speed: 1, apiPort: 0, kubeconfigPath: join(dir, 'clock.kubeconfig'), metricsPort: 0,
    dataDir: join(dir, 'clock-history'), namespace: 'default', log: createLogger({ format: 'json', verbose: false, write: () => {} }), observeIntervalMs: 30_000,
  });
  t.after(() => dev.stop());
  assert.ok(Math.abs(dev.clock.now() - Date.now()) < 5_000, `simulated now ${new Date(dev.clock.now()).toISOString()}`);
  const api = dev.api.kubeConfig().makeApiClient(CustomObjectsApi);
  let observed: number[] = [];
  for (let i = 0; i < 100 && !(observed.length === 2 && observed.every(Number.isFinite)); i++) {
    const list = (await api.listClusterCustomObject({ group: 'tide.dev', version: 'v1alpha1', plural: 'physicalhosts' })) as { items: { status?: { lastObservedTime?: string } }[] };
    observed = list.items.map((h) => Date.parse(h.status?.lastObservedTime ?? ''));
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(observed.length === 2 && observed.every((ms) => Math.abs(ms - Date.now()) < 60_000), `observed times near now: ${observed}`);
});
