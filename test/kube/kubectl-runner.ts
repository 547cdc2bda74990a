/** kubectl runs for the harness: the kubectl on PATH, with its own HOME and discovery cache. */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  input?: string;
  env?: Record<string, string>;
  /** Another server's kubeconfig (default: the harness server's). */
  kubeconfig?: string;
}

export interface KubectlRunner {
  /** Runs kubectl asynchronously (the embedded server lives in this process, so never block the loop). */
  kubectl(args: string[], opts?: KubectlOptions): Promise<CommandResult>;
  /** Starts a long-running kubectl (get --watch …): read its output so far, then stop it. */
  kubectlBackground(args: string[]): { stdout(): string; stop(): Promise<CommandResult> };
  /** Runs kubectl and fails with its stderr unless it exits 0; resolves to stdout. */
  kubectlOk(args: string[], opts?: KubectlOptions): Promise<string>;
  /** `kubectl apply -f` of CRD files or folders, then waits until every CRD is Established. */
  applyCrds(...paths: string[]): Promise<void>;
}

/** kubectl (the one on PATH) with its own HOME and discovery cache under `dir`. */
export function kubectlRunner(dir: string, kubeconfigPath: string): KubectlRunner {
  const home = join(dir, 'home');
  mkdirSync(home, { recursive: true });
  const start = (args: string[], opts: KubectlOptions = {}) => {
    const child = spawn('kubectl', ['--kubeconfig', opts.kubeconfig ?? kubeconfigPath, '--cache-dir', join(home, 'cache'), ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out = { stdout: '', stderr: '' };
    child.stdout.on('data', (d) => (out.stdout += d));
    child.stderr.on('data', (d) => (out.stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    const done = new Promise<CommandResult>((resolve, reject) => {
      child.on('error', (err: NodeJS.ErrnoException) =>
        reject(err.code === 'ENOENT' ? new Error('kubectl is not on PATH: the kube tests hold the server to a real kubectl (v1.32); see docs/kube.md') : err),
      );
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, ...out });
      });
    });
    child.stdin.end(opts.input ?? '');
    return { child, out, done };
  };
  const kubectl: KubectlRunner['kubectl'] = (args, opts) => start(args, opts).done;
  const kubectlOk: KubectlRunner['kubectlOk'] = async (args, opts) => {
    const r = await kubectl(args, opts);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout;
  };
  return {
    kubectl,
    kubectlOk,
    kubectlBackground(args) {
      const { child, out, done } = start(args);
      return {
        stdout: () => out.stdout,
        stop: () => {
          child.kill('SIGTERM');
          return done;
        },
      };
    },
    async applyCrds(...paths) {
      const applied = await kubectlOk(['apply', ...paths.flatMap((p) => ['-f', p]), '-o', 'name']);
      const crds = applied.split('\n').filter((l) => l.startsWith('customresourcedefinition.'));
      // A real server serves a CRD's resources only once it is Established (a moment after create).
      if (crds.length) await kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', ...crds]);
    },
  };
}

