/**
 * A development API server plus a real kubectl pointed at it, each run with its own HOME
 * (so its own discovery cache) and kubeconfig in a temporary folder removed on close.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../../src/kube/apiserver/index.ts';

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

export interface KubeHarness {
  server: ApiServer;
  dir: string;
  kubeconfigPath: string;
  /** Runs kubectl asynchronously (the server lives in this process, so never block the loop). */
  kubectl(args: string[], opts?: KubectlOptions): Promise<CommandResult>;
  /** Starts a long-running kubectl (get --watch …): read its output so far, then stop it. */
  kubectlBackground(args: string[]): { stdout(): string; stop(): Promise<CommandResult> };
  /** Runs kubectl and fails with its stderr unless it exits 0; resolves to stdout. */
  kubectlOk(args: string[], opts?: KubectlOptions): Promise<string>;
  close(): Promise<void>;
}

export const repoPath = (relative: string) => new URL(`../../${relative}`, import.meta.url).pathname;
export const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

export async function startHarness(options: ApiServerOptions = {}): Promise<KubeHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'tide-kube-'));
  const home = join(dir, 'home');
  mkdirSync(home);
  const kubeconfigPath = join(dir, 'kubeconfig');
  const server = await startApiServer(options);
  server.writeKubeconfig(kubeconfigPath);

  const start = (args: string[], opts: KubectlOptions = {}) => {
    const child = spawn('kubectl', ['--kubeconfig', opts.kubeconfig ?? kubeconfigPath, '--cache-dir', join(home, 'cache'), ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out = { stdout: '', stderr: '' };
    child.stdout.on('data', (d) => (out.stdout += d));
    child.stderr.on('data', (d) => (out.stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
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
  const kubectl: KubeHarness['kubectl'] = (args, opts) => start(args, opts).done;

  return {
    server,
    dir,
    kubeconfigPath,
    kubectl,
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
    async kubectlOk(args, opts) {
      const r = await kubectl(args, opts);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
      return r.stdout;
    },
    async close() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` returns a value other than undefined (or throws after `timeoutMs`). */
export async function eventually<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
