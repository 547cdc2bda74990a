/**
 * The operator container as the Deployment defines it — its args, its env, its probes — run
 * for real (`tide run`, no hosts) against the embedded API server: the probes answer on the
 * port the container declares, and the replica takes the leader Lease in its own namespace
 * under its pod name. Only the kubeconfig (in a cluster: the service account), the data
 * directory (in a cluster: an emptyDir) and the port number (8080 may be taken here) differ.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, startHarness, type KubeHarness } from '../kube/harness.ts';
import { podSpecOf } from './checks.ts';
import { find, kustomize, ROOT } from './render.ts';

/** One GET on a connection of its own, body read, so nothing stays open after the test. */
async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { connection: 'close' } });
  return { status: res.status, body: await res.text() };
}

const runExists = existsSync(join(ROOT, 'src/cli/commands/run.ts'));
const POD = { namespace: 'tide-system', name: 'tide-operator-7d9f8-x2x4q' };

let h: KubeHarness;
let dir: string;
let child: ChildProcess | undefined;
let output = '';

before(async () => {
  h = await startHarness();
  dir = mkdtempSync(join(tmpdir(), 'tide-operator-pod-'));
});
after(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))]);
    clearTimeout(timer);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('tide run with the Deployment\'s args and env serves its probes and takes the Lease', { todo: !runExists && 'src/cli/commands/run.ts does not exist yet' }, async () => {
  const objects = await kustomize(join(ROOT, 'manifests'));
  await h.kubectlOk(['apply', '-f', '-'], { input: objects.filter((o) => o.kind === 'Namespace' || o.kind === 'CustomResourceDefinition').map((o) => JSON.stringify(o)).join('\n') });
  await h.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', ...objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => `crd/${o.metadata.name}`)]);

  const container = podSpecOf(find(objects, 'Deployment', 'tide-operator')).containers[0];
  const env: Record<string, string> = {};
  for (const e of container.env as Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>) {
    const field = e.valueFrom?.fieldRef?.fieldPath;
    env[e.name] = field === 'metadata.namespace' ? POD.namespace : field === 'metadata.name' ? POD.name : e.value ?? '';
  }
  env.TIDE_DATA_DIR = join(dir, 'history');
  const args = (container.args as string[])
    .map((a) => a.replace(/\$\(([A-Z_]+)\)/g, (_, name: string) => env[name] ?? ''))
    .map((a) => (a.startsWith('--metrics-port=') ? '--metrics-port=0' : a));
  child = spawn(process.execPath, [join(ROOT, 'bin/tide.js'), ...args, `--kubeconfig=${h.kubeconfigPath}`], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));

  // --log-format=json: every line is an object; the start line names the port.
  const port = await eventually('the operator to start', () => {
    if (child!.exitCode !== null) throw new Error(`tide run exited ${child!.exitCode}:\n${output}`);
    for (const line of output.split('\n').filter(Boolean)) {
      const entry = JSON.parse(line) as { msg: string; metricsPort?: number };
      if (entry.metricsPort) return entry.metricsPort;
    }
    return undefined;
  }, 60_000);

  for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
    const path = container[probe].httpGet.path as string;
    await eventually(`${probe} ${path} to answer 200`, async () => {
      const status = await get(port, path).then((r) => r.status, () => 0);
      return status === 200 ? true : undefined;
    }, 60_000);
  }

  const holder = await eventually('the Lease to be held', async () => {
    const r = await h.kubectl(['get', 'lease', 'tide-operator', '-n', POD.namespace, '-o', 'jsonpath={.spec.holderIdentity}']);
    return r.code === 0 && r.stdout ? r.stdout : undefined;
  }, 60_000);
  assert.equal(holder, POD.name);
  assert.match((await get(port, '/metrics')).body, /^tide_leader 1$/m);
});
