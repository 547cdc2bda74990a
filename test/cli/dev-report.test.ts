/**
 * The README's main job, end to end through the CLI: `tide dev` runs the paper's consolidation
 * (kubectl sees node100 powered off through the kubeconfig it writes), and `tide report` on
 * the history it left shows the saving, with the charts in the HTML page.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const TIDE = join(ROOT, 'bin/tide.js');

test('tide dev consolidates the paper cluster, kubectl sees node100 off, tide report shows the saving', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tide-dev-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  const dev = spawn(process.execPath, [TIDE, 'dev', '--speed', '30', '--duration', '900', '--kubeconfig', kubeconfig, '--data-dir', join(dir, 'history')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  dev.stdout!.on('data', (d) => (output += d));
  dev.stderr!.on('data', (d) => (output += d));
  t.after(() => dev.kill('SIGKILL'));

  // While it runs, kubectl against its kubeconfig shows the hosts.
  const env = { ...process.env, HOME: dir };
  const deadline = Date.now() + 90_000;
  let table = '';
  while (Date.now() < deadline) {
    const r = await run('kubectl', ['--kubeconfig', kubeconfig, 'get', 'physicalhosts'], { env }).catch((e) => ({ stdout: String(e.stdout ?? '') }));
    table = r.stdout;
    if (/node100\s+Off/.test(table) && /node200\s+On\s+\S+\s+58\s+8\s/.test(table)) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.match(table, /node100\s+Off/, `kubectl get physicalhosts:\n${table}\n${output}`);
  assert.match(table, /node200\s+On\s+\S+\s+58\s+8/, 'node200 carries all 8 VMs at 58 W');

  // Its /metrics tell the same story.
  const port = /metrics\s+http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(output)?.[1];
  assert.ok(port, `metrics port in the banner:\n${output}`);
  assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
  assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
  let metrics = '';
  const value = (line: RegExp) => Number(line.exec(metrics)?.[1]);
  // The metrics follow the observation rounds (every 30 simulated seconds); saving accrues from the second one with node100 off.
  for (let i = 0; i < 60 && !(value(/^tide_cluster_power_watts (\S+)$/m) === 58 && value(/^tide_energy_saved_joules_total (\S+)$/m) > 0); i++) {
    metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.equal(value(/^tide_actions_total\{type="Migrate",result="Succeeded"\} (\S+)$/m), 4);
  assert.equal(value(/^tide_actions_total\{type="PowerOff",result="Succeeded"\} (\S+)$/m), 1);
  assert.equal(value(/^tide_hosts\{power_state="Off"\} (\S+)$/m), 1);
  assert.equal(value(/^tide_cluster_power_watts (\S+)$/m), 58);
  assert.ok(value(/^tide_energy_saved_joules_total (\S+)$/m) > 0, 'energy saved against all hosts on');
  assert.ok(value(/^tide_reconcile_duration_seconds_count\{result="success"\} (\S+)$/m) >= 1);

  // The policy's status behind its Watts column, and the energy saved, from the same accounting.
  let policy: { status?: { clusterWatts?: number; energySavedWh?: number } } = {};
  for (let i = 0; i < 60 && !(policy.status?.clusterWatts === 58 && policy.status.energySavedWh! > 0); i++) {
    policy = JSON.parse((await run('kubectl', ['--kubeconfig', kubeconfig, 'get', 'consolidationpolicy', 'default', '-o', 'json'], { env })).stdout);
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.equal(policy.status?.clusterWatts, 58, JSON.stringify(policy.status));
  assert.ok(policy.status!.energySavedWh! > 0, JSON.stringify(policy.status));

  const code = await new Promise<number | null>((resolve) => dev.on('exit', resolve));
  assert.equal(code, 0, output);
  assert.match(output, /migrate vm-1 node100→node200/);
  assert.match(output, /power off node100: emptied by consolidation/);

  const html = join(dir, 'report.html');
  const report = await run(process.execPath, [TIDE, 'report', '--store', join(dir, 'history'), '--html', html], { cwd: dir, env });
  assert.match(report.stdout, /saving against all hosts on: [1-9][0-9.]* Wh/);
  assert.match(report.stdout, /power-off\s+node100\s+EmptyHost\s+succeeded/);
  const page = readFileSync(html, 'utf8');
  assert.match(page, /<svg/);
  assert.match(page, /node100/);
});

test('bad flags get one clear line and exit code 2, never a stack trace', async () => {
  for (const [args, expected] of [
    [['run', '--bogus'], /tide run: Unknown option '--bogus'/],
    [['dev', '--speed'], /tide dev: Option '--speed <value>' argument missing/],
    [['dev', '--scenario', 'no-such-scenario'], /tide dev: .*no-such-scenario: no such scenario file/],
    [['run', '--kubeconfig', '/nonexistent/kubeconfig'], /tide run: --kubeconfig: no such file/],
  ] as const) {
    const result = await run(process.execPath, [TIDE, ...args]).then(
      () => ({ code: 0, stderr: '' }),
      (e) => ({ code: e.code as number, stderr: String(e.stderr) }),
    );
    assert.equal(result.code, 2, args.join(' '));
    assert.match(result.stderr, expected);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  }
});
