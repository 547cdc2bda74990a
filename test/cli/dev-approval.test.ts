/**
 * Issue 15 item 1 through `tide dev` with kubectl and the CLI only: a scenario whose policy says
 * `approval: Manual` starts Tide waiting; kubectl shows the proposed ConsolidationPlan with its
 * predicted saving, and nothing moves until `tide approve NAME`; then the plan runs and node100
 * goes off. (Superseding and GitOps approval: test/realkube/consolidation-plan.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tideInProcess, tideWritingStdout } from './in-process.ts';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const TIDE = join(ROOT, 'bin/tide.js');

async function until<T>(what: string, probe: () => Promise<T | undefined>, context: () => string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${context()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('tide dev with approval Manual: kubectl shows the proposed plan, nothing moves until tide approve, then node100 goes off', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tide-dev-approval-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const scenario = join(dir, 'manual.yaml');
  const paper = readFileSync(join(ROOT, 'src/sim/scenarios/paper-consolidation.yaml'), 'utf8');
  assert.match(paper, /^ {2}minHostsOn: 1$/m);
  writeFileSync(scenario, paper.replace(/^ {2}minHostsOn: 1$/m, '  minHostsOn: 1\n  approval: Manual'));
  const kubeconfig = join(dir, 'kubeconfig');
  const dev = spawn(process.execPath, [TIDE, 'dev', '--scenario', scenario, '--speed', '30', '--kubeconfig', kubeconfig, '--data-dir', join(dir, 'history')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  dev.stdout!.on('data', (d) => (output += d));
  dev.stderr!.on('data', (d) => (output += d));
  t.after(() => dev.kill('SIGKILL'));
  const env = { ...process.env, HOME: dir };
  const kubectl = async (...args: string[]) => (await run('kubectl', ['--kubeconfig', kubeconfig, ...args], { env })).stdout;
  const tide = (...args: string[]) => tideInProcess(...args, '--kubeconfig', kubeconfig);
  const plans = async () => JSON.parse(await kubectl('get', 'cplan', '-n', 'tide-system', '-o', 'json').catch(() => '{"items":[]}')).items as any[];
  const log = () => output;

  const proposed = await until('a Proposed plan', async () => (await plans()).find((p) => p.status?.phase === 'Proposed'), log);
  assert.deepEqual(proposed.status.actions.map((a: any) => a.type), ['migrate', 'migrate', 'migrate', 'migrate', 'power-off']);
  assert.deepEqual([proposed.status.prediction.wattsSaved, proposed.status.prediction.hostsOverThreshold], [69, []], 'node100 idles at 69 W in the scenario');
  assert.match(await kubectl('get', 'ph', 'node100'), /node100\s+On\s/);
  assert.match(await kubectl('get', 'cplan', '-n', 'tide-system'), new RegExp(`${proposed.metadata.name}\\s+default\\s+Proposed\\s+69\\s+0\\s+AwaitingApproval`));

  const approved = await tide('approve', proposed.metadata.name);
  assert.equal(approved.code, 0, approved.stderr);
  assert.match(approved.stdout, new RegExp(`consolidationplan.tide.dev/${proposed.metadata.name} approved: 5 action\\(s\\)`));
  const done = await until('the plan Succeeded', async () => {
    const p = (await plans()).find((x) => x.metadata.name === proposed.metadata.name);
    return p?.status?.phase === 'Succeeded' ? p : undefined;
  }, log);
  assert.equal(done.status.reason, 'Executed');
  await until('node100 Off', async () => (/node100\s+Off/.test(await kubectl('get', 'ph', 'node100')) ? true : undefined), log);

  const again = await tide('approve', proposed.metadata.name);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /is Succeeded \(Executed: 5 action\(s\) carried out\): nothing to approve/);
  const missing = await tide('approve', 'no-such-plan');
  assert.match(missing.stderr, /no ConsolidationPlan no-such-plan in namespace tide-system/);

  // The history records the approved plan as the decision carried out, with its predicted saving.
  const exited = new Promise((resolve) => dev.on('exit', resolve));
  dev.kill('SIGTERM');
  await exited;
  const report = await tideWritingStdout('report', '--store', join(dir, 'history'));
  assert.equal(report.code, 0, report.stderr);
  assert.match(report.stdout, /power-off\s+node100\s+EmptyHost\s+succeeded/);
  assert.match(report.stdout, /savings per power-off[^\n]*\n(.*\n)*.*node100\s+69(\.0)? Wh/, report.stdout);
});
