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

test('tide apiserver --port 0 prints its URL, serves kubectl through the kubeconfig, and stops on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tide-apiserver-cli-'));
  const kubeconfig = join(dir, 'kubeconfig');
  const child = spawn(process.execPath, [repoPath('bin/tide.js'), 'apiserver', '--port', '0', '--kubeconfig', kubeconfig], { stdio: ['ignore', 'pipe', 'pipe'] });
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
    const { stdout } = await run('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), 'get', 'namespaces', '-o', 'name'], { env: { PATH: process.env.PATH, HOME: dir } });
    assert.match(stdout, /^namespace\/default$/m);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /development only/);
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tide apiserver refuses a bad port with a clear message', async () => {
  const r = await run(process.execPath, [repoPath('bin/tide.js'), 'apiserver', '--port', 'abc']).catch((e) => e);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /tide apiserver: --port: expected 0…65535, got 'abc'/);
});
