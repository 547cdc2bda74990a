/** `tide apiserver` as a user runs it: prints its URL, writes a kubeconfig kubectl can use, stops on SIGTERM. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoPath } from './harness.ts';

const run = promisify(execFile);

test('tide apiserver --port 0 --apply … prints its URL, serves kubectl through the kubeconfig, and stops on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tide-apiserver-cli-'));
  const kubeconfig = join(dir, 'kubeconfig');
  const args = ['apiserver', '--port', '0', '--kubeconfig', kubeconfig, '--apply', repoPath('manifests/crds'), '--apply', repoPath('manifests/examples/paper')];
  const child = spawn(process.execPath, [repoPath('bin/tide.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no URL printed; stderr: ${stderr}`)), 30_000);
      child.stdout.on('data', (d) => {
        out += d;
        const line = out.split('\n')[0]!;
        if (out.includes('\n')) {
          clearTimeout(timer);
          resolve(line);
        }
      });
    });
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const config = readFileSync(kubeconfig, 'utf8');
    assert.ok(config.includes(`server: ${url}`));
    assert.match(config, /certificate-authority-data: \S+/);
    assert.doesNotMatch(config, /insecure-skip-tls-verify/);
    const { stdout } = await run('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), 'get', 'namespaces,physicalhosts', '-o', 'name'], { env: { PATH: process.env.PATH, HOME: dir } });
    assert.match(stdout, /^namespace\/default$/m);
    assert.match(stdout, /^namespace\/paper$/m);
    assert.match(stdout, /^physicalhost\.tide\.dev\/node100$/m);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /development only/);
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tide apiserver refuses a bad port or manifest with a clear message', async () => {
  const tide = (...args: string[]) => run(process.execPath, [repoPath('bin/tide.js'), 'apiserver', ...args]).catch((e) => e);
  const badPort = await tide('--port', 'abc');
  assert.equal(badPort.code, 2);
  assert.match(badPort.stderr, /tide apiserver: --port: expected 0…65535, got 'abc'/);
  const noCrd = await tide('--port', '0', '--apply', repoPath('manifests/examples/paper'));
  assert.equal(noCrd.code, 2);
  assert.match(noCrd.stderr, /tide apiserver: --apply: no resource serves tide\.dev\/v1alpha1, kind PhysicalHost \(PhysicalHost node100\)/);
});
