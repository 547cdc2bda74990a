/**
 * The Kubernetes-facing tests' one harness, parameterized over the server: the embedded
 * development API server (src/kube/apiserver, always) and a real kube-apiserver (the real tier,
 * test/realkube/envtest.ts). Both are driven through the same KubeTarget: a kubeconfig, the
 * kubectl on PATH (the same client for both, so only the server differs), a client-node
 * KubeConfig, and a way to tell when a client is watching.
 *
 *   for (const tier of serverTiers()) describe(tier.name, { skip: tier.skip }, () => { … tier.start() … });
 *
 * Each test file starts one server per tier (a real one is private to the file: the files add,
 * change and delete cluster-scoped CRDs, so they must not share one).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../../src/kube/apiserver/index.ts';
import { REAL_KUBE } from '../realkube/envtest.ts';
import { kubectlRunner, type KubectlRunner } from './kubectl-runner.ts';
import { startRealTarget } from './real-target.ts';

export type { CommandResult, KubectlOptions } from './kubectl-runner.ts';

export type TierName = 'embedded' | 'real';

/** What a Kubernetes-facing test needs from a server, whichever server it is. */
export interface KubeTarget extends KubectlRunner {
  tier: TierName;
  /** A scratch folder removed on close (kubectl's HOME is inside it). */
  dir: string;
  kubeconfigPath: string;
  /** A client-node KubeConfig for this server. */
  kubeConfig(): KubeConfig;
  /**
   * How many watches of `resource` (plural) within a namespace or on one object are open, to
   * wait until a client (kubectl wait, get -w) watches before acting. The embedded server counts
   * every open watch.
   */
  watchers(resource: string): Promise<number>;
  /** Hooks only the embedded server has (closeWatches, compactHistory, requests …). */
  embedded?: ApiServer;
  close(): Promise<void>;
}

/** The embedded server's target, with its hooks always there. */
export interface KubeHarness extends KubeTarget {
  server: ApiServer;
}

export interface ServerTier {
  name: string;
  tier: TierName;
  /** Why this tier does not run (a visible skip), or undefined when it runs. */
  skip?: string;
  /** Embedded options apply to the embedded server only. */
  start(options?: ApiServerOptions): Promise<KubeTarget>;
}

export const repoPath = (relative: string) => new URL(`../../${relative}`, import.meta.url).pathname;
export const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

/** The tiers every Kubernetes-facing test file runs its tests on: the embedded server always, the real one when its tier runs. */
export function serverTiers(): ServerTier[] {
  return [
    { name: 'embedded API server', tier: 'embedded', start: (options) => startHarness(options) },
    {
      name: 'real kube-apiserver',
      tier: 'real',
      skip: REAL_KUBE.enabled ? undefined : `real kube-apiserver tier skipped because ${REAL_KUBE.reason}`,
      start: () => startRealTarget(),
    },
  ];
}

export async function startHarness(options: ApiServerOptions = {}): Promise<KubeHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'tide-kube-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  const server = await startApiServer(options);
  server.writeKubeconfig(kubeconfigPath);
  return {
    tier: 'embedded',
    server,
    embedded: server,
    dir,
    kubeconfigPath,
    kubeConfig: () => server.kubeConfig(),
    ...kubectlRunner(dir, kubeconfigPath),
    watchers: async () => server.openWatches(),
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

/** Waits until more watches of `resource` are open than `before`: the client started by the caller is watching. */
export const untilWatching = (h: KubeTarget, resource: string, before: number, what: string) =>
  eventually(what, async () => ((await h.watchers(resource)) > before ? true : undefined), 30_000);
