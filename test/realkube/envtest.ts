/**
 * The real-server tier: a real kube-apiserver (+ etcd, kube-controller-manager) and a real
 * helm, all built from source and run by scripts/envtest.sh (see docs/kube.md).
 *
 * Whether the tier runs: it is REQUIRED when CI=true (a missing Go, a failed build or a server
 * that does not start fails the run), and by default locally too; a developer opts out with
 * TIDE_REAL_KUBE=0, and then every real-tier test shows as skipped with that reason.
 *
 * One server per test run: scripts/test.sh starts it before the tests and exports
 * TIDE_ENVTEST_DIR; a test file run on its own starts a private one (about 10 s) and stops it
 * when the process exits. Tests share the server, so each works in namespaces of its own
 * (`server.namespace('prefix')`) and leaves cluster-scoped objects as others expect them.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const ENVTEST = join(ROOT, 'scripts/envtest.sh');

export interface RealKubeTier {
  /** The real-server tests run. */
  enabled: boolean;
  /** Failing to build or start the real server fails the run (always when enabled). */
  required: boolean;
  /** Why it is on or off, in words for the test output. */
  reason: string;
}

export function realKubeTier(env: NodeJS.ProcessEnv = process.env): RealKubeTier {
  const ci = env.CI === 'true' || env.CI === '1';
  const optOut = env.TIDE_REAL_KUBE === '0';
  if (ci) return { enabled: true, required: true, reason: optOut ? 'CI=true: required in CI (TIDE_REAL_KUBE=0 is ignored there)' : 'CI=true: required in CI' };
  if (optOut) return { enabled: false, required: false, reason: 'TIDE_REAL_KUBE=0' };
  return { enabled: true, required: true, reason: 'on by default (TIDE_REAL_KUBE=0 skips it locally)' };
}

export const REAL_KUBE = realKubeTier();

/**
 * `test` for the real tier: runs when the tier is on, otherwise shows as skipped with the
 * reason (never silently absent).
 */
export function realTest(name: string, fn: (t: TestContext) => void | Promise<void>): void {
  if (REAL_KUBE.enabled) test(name, fn);
  else test(name, { skip: `real kube-apiserver tier skipped because ${REAL_KUBE.reason}` }, () => {});
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  env?: Record<string, string>;
  /** Another kubeconfig than the server's cluster-admin one (e.g. a ServiceAccount's). */
  kubeconfig?: string;
  /** Kill after this long (default 120 s). */
  timeoutMs?: number;
}

export interface RealApiServer {
  /** The envtest directory (certificates, logs, etcd data). */
  dir: string;
  /** cluster-admin kubeconfig (client certificate in system:masters). */
  kubeconfigPath: string;
  /** https://127.0.0.1:PORT */
  url: string;
  /** kubectl and helm built at the pinned versions (kubectl matches the server). */
  kubectlPath: string;
  helmPath: string;
  versions: { kubernetes: string; helm: string; etcd: string };
  /** The service-account token issuer (and API audience). */
  serviceAccountIssuer: string;
  /** PEM of the cluster CA (the serving certificate's issuer). */
  caPem: string;
  kubectl(args: string[], opts?: RunOptions): Promise<CommandResult>;
  /** kubectl that must exit 0; resolves to stdout. */
  kubectlOk(args: string[], opts?: RunOptions): Promise<string>;
  helm(args: string[], opts?: RunOptions): Promise<CommandResult>;
  helmOk(args: string[], opts?: RunOptions): Promise<string>;
  /** Creates a fresh namespace `${prefix}-<random>` and resolves to its name. */
  namespace(prefix: string): Promise<string>;
  /** Stops a private server; a no-op for the run's shared one (scripts/test.sh stops that). */
  stop(): Promise<void>;
}

function readEnvFile(dir: string): Record<string, string> {
  const file = join(dir, 'envtest.env');
  if (!existsSync(file)) throw new Error(`${file} is missing: is the real API server up (scripts/envtest.sh up ${dir})?`);
  return Object.fromEntries(
    readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

function runEnvtest(args: string[]): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [ENVTEST, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const lastLine = (text: string) => text.trim().split('\n').filter((l) => l.startsWith('envtest:')).at(-1) ?? text.trim().split('\n').at(-1) ?? '';

function handle(dir: string, owned: boolean): RealApiServer {
  const env = readEnvFile(dir);
  // Each server handle has its own HOME: kubectl's discovery cache and helm's config, cache
  // and data (repositories, registry logins) stay out of the user's.
  const home = mkdtempSync(join(tmpdir(), 'tide-realkube-home-'));
  for (const d of ['cache', 'helm/cache', 'helm/config', 'helm/data']) mkdirSync(join(home, d), { recursive: true });
  const baseEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    HELM_CACHE_HOME: join(home, 'helm/cache'),
    HELM_CONFIG_HOME: join(home, 'helm/config'),
    HELM_DATA_HOME: join(home, 'helm/data'),
  };
  const kubeconfigPath = env.TIDE_ENVTEST_KUBECONFIG!;
  const run = (bin: string, args: string[], opts: RunOptions = {}) =>
    new Promise<CommandResult>((resolve, reject) => {
      const child = spawn(bin, args, { env: { ...baseEnv, KUBECONFIG: opts.kubeconfig ?? kubeconfigPath, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
      child.stdin.end(opts.input ?? '');
    });
  const ok = (name: string, r: CommandResult, args: string[]) => {
    if (r.code !== 0) throw new Error(`${name} ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout;
  };
  const kubectlPath = env.TIDE_ENVTEST_KUBECTL!;
  const helmPath = env.TIDE_ENVTEST_HELM!;
  const kubectl = (args: string[], opts?: RunOptions) => run(kubectlPath, ['--cache-dir', join(home, 'cache'), ...args], opts);
  const helm = (args: string[], opts?: RunOptions) => run(helmPath, args, opts);
  let stopped = false;
  const server: RealApiServer = {
    dir,
    kubeconfigPath,
    url: env.TIDE_ENVTEST_URL!,
    kubectlPath,
    helmPath,
    versions: { kubernetes: env.TIDE_ENVTEST_KUBE_VERSION!, helm: env.TIDE_ENVTEST_HELM_VERSION!, etcd: env.TIDE_ENVTEST_ETCD_VERSION ?? '' },
    serviceAccountIssuer: env.TIDE_ENVTEST_SA_ISSUER!,
    caPem: readFileSync(join(dir, 'pki/ca.crt'), 'utf8'),
    kubectl,
    kubectlOk: async (args, opts) => ok('kubectl', await kubectl(args, opts), args),
    helm,
    helmOk: async (args, opts) => ok('helm', await helm(args, opts), args),
    async namespace(prefix) {
      const name = `${prefix}-${randomBytes(3).toString('hex')}`;
      await server.kubectlOk(['create', 'namespace', name]);
      return name;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      rmSync(home, { recursive: true, force: true });
      if (!owned) return;
      const r = await runEnvtest(['down', dir]);
      if (r.code !== 0) throw new Error(`scripts/envtest.sh down ${dir}: ${lastLine(r.stderr)}`);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const cleanUp = () => {
    rmSync(home, { recursive: true, force: true });
    if (owned && !stopped) {
      stopped = true;
      spawnSync('bash', [ENVTEST, 'down', dir], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    }
  };
  process.once('exit', cleanUp);
  // A test process ended by a signal (the runner cancelling it) stops its own server too.
  if (owned) {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        cleanUp();
        process.exit(128 + (signal === 'SIGTERM' ? 15 : 2));
      });
    }
  }
  return server;
}

let shared: Promise<RealApiServer> | undefined;

/**
 * The real API server for this test run: the one scripts/test.sh started (TIDE_ENVTEST_DIR),
 * or, for a test file run on its own, one started now for this process (`{ private: true }`
 * always starts a new one, for tests that must not share a cluster). Rejects with the script's
 * one-line reason when it cannot be built or started.
 */
export function startRealApiServer(opts: { private?: boolean } = {}): Promise<RealApiServer> {
  if (!REAL_KUBE.enabled) return Promise.reject(new Error(`the real kube-apiserver tier is off (${REAL_KUBE.reason})`));
  const start = async (): Promise<RealApiServer> => {
    const given = process.env.TIDE_ENVTEST_DIR;
    if (given && !opts.private) return handle(given, false);
    // Test files run several at a time (scripts/test.sh), each may start a server: a port the
    // script found free can be taken by another file's server before ours binds it. The script
    // says so in one line; only that is worth a second try.
    for (let attempt = 1; ; attempt++) {
      const dir = mkdtempSync(join(tmpdir(), 'tide-envtest-'));
      const r = await runEnvtest(['up', dir]);
      if (r.code === 0) return handle(dir, true);
      rmSync(dir, { recursive: true, force: true });
      const reason = lastLine(r.stderr);
      if (attempt < 3 && /is taken/.test(reason)) continue;
      throw new Error(`scripts/envtest.sh up failed: ${reason}`);
    }
  };
  if (opts.private) return start();
  shared ??= start();
  return shared;
}

/** The path of the pinned helm (built if needed), for tests that need helm but no server. */
let helmPath: Promise<string> | undefined;
export function helmBinary(): Promise<string> {
  if (!REAL_KUBE.enabled) return Promise.reject(new Error(`real helm is part of the real tier, which is off (${REAL_KUBE.reason})`));
  const given = process.env.TIDE_ENVTEST_DIR;
  if (given) return Promise.resolve(readEnvFile(given).TIDE_ENVTEST_HELM!);
  helmPath ??= runEnvtest(['helm']).then((r) => {
    if (r.code !== 0) throw new Error(`scripts/envtest.sh helm failed: ${lastLine(r.stderr)}`);
    return r.stdout.trim();
  });
  return helmPath;
}
