/**
 * scripts/envtest.sh fails in one clear line, and leaves nothing running, when: there is no Go,
 * the Go module proxy cannot be reached, a port it is asked for is taken, or etcd does not
 * start. (That it works is what every other real-tier test shows.)
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENVTEST, realTest } from './envtest.ts';

let scratch: string;
before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'tide-envtest-script-'));
});
after(() => rmSync(scratch, { recursive: true, force: true }));

function envtest(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [ENVTEST, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The last line the script printed on stderr, which must be its one-line reason. */
const reason = (stderr: string) => stderr.trim().split('\n').at(-1)!;

realTest('no Go: one line naming what is missing', async () => {
  const r = await envtest(['build'], { TIDE_ENVTEST_CACHE: join(scratch, 'no-go-cache'), TIDE_ENVTEST_GO: join(scratch, 'no-such-go') });
  assert.equal(r.code, 1);
  assert.match(reason(r.stderr), /^envtest: no Go toolchain: .*no-such-go/);
});

realTest('the Go module proxy unreachable: one line saying so', async () => {
  // An empty module cache and a proxy on a loopback port nothing listens on.
  const closed = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
  const r = await envtest(['build', 'helm'], {
    TIDE_ENVTEST_CACHE: join(scratch, 'proxy-cache'),
    GOMODCACHE: join(scratch, 'gomodcache'),
    GOPROXY: `http://127.0.0.1:${closed}`,
    GOSUMDB: 'off',
  });
  assert.equal(r.code, 1);
  assert.match(reason(r.stderr), new RegExp(`^envtest: the Go module proxy \\(http://127\\.0\\.0\\.1:${closed}\\) is unreachable while fetching helm\\.sh/helm/v3@v3\\.\\d+\\.\\d+: .*connection refused`));
  // GOMODCACHE is made read-only by Go; let the cleanup remove it.
  await new Promise((resolve) => spawn('chmod', ['-R', 'u+w', join(scratch, 'gomodcache')]).on('close', resolve));
});

realTest('a port taken: one line naming it, nothing started', async () => {
  const taken: Server = await new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => resolve(s));
  });
  const port = (taken.address() as { port: number }).port;
  try {
    const dir = join(scratch, 'port');
    const r = await envtest(['up', dir], { TIDE_ENVTEST_APISERVER_PORT: String(port) });
    assert.equal(r.code, 1);
    assert.equal(reason(r.stderr), `envtest: port ${port} (asked for the kube-apiserver port) is taken on 127.0.0.1`);
    assert.equal(existsSync(join(dir, 'etcd.pid')), false, 'nothing was started');
  } finally {
    taken.close();
  }
});

realTest('etcd not starting: one line, and down leaves nothing behind', async () => {
  const dir = join(scratch, 'etcd');
  const r = await envtest(['up', dir], { TIDE_ENVTEST_ETCD: '/bin/false' });
  assert.equal(r.code, 1);
  assert.match(reason(r.stderr), new RegExp(`^envtest: etcd did not start: .*\\(log: ${dir}/etcd\\.log\\)$`));
  assert.equal(existsSync(join(dir, 'etcd.pid')), false, 'the failed up cleaned its pid files');
  assert.equal(existsSync(join(dir, 'kube-apiserver.log')), false, 'kube-apiserver was never started');
  assert.equal(readFileSync(join(dir, 'etcd.log'), 'utf8'), '');
});
