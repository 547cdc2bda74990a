/**
 * scripts/test-runner.mjs, which runs each phase of scripts/test.sh: the files that took
 * longest last time start first, a failed test makes the exit code 1, and each file's wall time
 * is recorded for the next run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RUNNER = fileURLToPath(new URL('../../scripts/test-runner.mjs', import.meta.url));

function runner(dir: string, files: string[]) {
  // Without NODE_TEST_CONTEXT, which this file's own runner sets: with it, a child's tests
  // report to that runner instead of printing TAP.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const r = spawnSync(process.execPath, [RUNNER, '--concurrency', '1', '--label', 'phase', ...files], {
    cwd: dir, encoding: 'utf8', env: { ...env, TIDE_TEST_DURATIONS: join(dir, 'durations.json') },
  });
  const order = [...r.stdout.matchAll(/^(?:not )?ok \d+ - (\w+)$/gm)].map((m) => m[1]);
  return { code: r.status, order, stdout: r.stdout };
}

test('files start longest first by the last run, a failure exits 1, and every file’s time is recorded', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tide-runner-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, body: string) => writeFileSync(join(dir, `${name}.test.mjs`), `import { test } from 'node:test';\nimport assert from 'node:assert';\ntest('${name}', async () => { ${body} });\n`);
  for (const name of ['alpha', 'beta', 'gamma']) file(name, '');
  const files = ['alpha.test.mjs', 'beta.test.mjs', 'gamma.test.mjs'];

  // No times recorded: by name.
  const first = runner(dir, files);
  assert.equal(first.code, 0, first.stdout);
  assert.deepEqual(first.order, ['alpha', 'beta', 'gamma']);
  assert.match(first.stdout, /^phase: 3 files in \d+ s, 1 at a time, by name \(no times recorded yet\)/m);
  const recorded = JSON.parse(readFileSync(join(dir, 'durations.json'), 'utf8'));
  assert.deepEqual(Object.keys(recorded), files);
  for (const f of files) assert.ok(Number.isInteger(recorded[f]) && recorded[f] >= 0, `${f}: ${recorded[f]}`);

  // gamma took longest last time, then beta; a file with no time (delta, failing) goes first.
  writeFileSync(join(dir, 'durations.json'), JSON.stringify({ 'alpha.test.mjs': 10, 'beta.test.mjs': 500, 'gamma.test.mjs': 9000 }));
  file('delta', 'assert.equal(1, 2);');
  const second = runner(dir, [...files, 'delta.test.mjs']);
  assert.equal(second.code, 1, 'a failed test fails the run');
  assert.deepEqual(second.order, ['delta', 'gamma', 'beta', 'alpha']);
  assert.match(second.stdout, /^not ok 1 - delta$/m);
  assert.match(second.stdout, /longest first \(times of the last run\)/);
  assert.match(second.stdout, /^phase: slowest files \(wall s, start → end\):$/m);
});

test('a file whose test leaves a timer running ends with its tests, not with the timer', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tide-runner-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'linger.test.mjs'), "import { test } from 'node:test';\ntest('linger', () => { setTimeout(() => {}, 120_000); });\n");
  const started = Date.now();
  const r = runner(dir, ['linger.test.mjs']);
  assert.equal(r.code, 0, r.stdout);
  assert.deepEqual(r.order, ['linger']);
  assert.ok(Date.now() - started < 60_000, `the run waited for the file's 120 s timer (${Date.now() - started} ms)`);
});
