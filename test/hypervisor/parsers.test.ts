import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSamples } from '../../src/hypervisor/host-sample.ts';
import { loadBetween } from '../../src/hypervisor/cpu-load.ts';
import { parseDomainState, parseJobInfo } from '../../src/hypervisor/job-info.ts';

/** A reply in the shape twoSamplesCommand gets from a host (virsh 9.0 domstats --raw). */
function sample(atNs: bigint, cpu: string, domains: string): string {
  return `@@tide-sample ${atNs}\n${cpu}\nMemTotal:       24684256 kB\nMemAvailable:   23604224 kB\n${domains}`;
}
const vm = (name: string, cpuTimeNs: bigint, state = 1, vcpus = 1) =>
  `Domain: '${name}'\n  state.state=${state}\n  state.reason=1\n  cpu.time=${cpuTimeNs}\n  cpu.user=1\n  cpu.system=1\n  balloon.current=98304\n  balloon.maximum=98304\n  vcpu.current=${vcpus}\n  vcpu.maximum=${vcpus}\n  vcpu.0.state=1\n  vcpu.0.time=5\n\n`;
const off = (name: string) => `Domain: 'off'\n  state.state=5\n  state.reason=1\n  balloon.current=65536\n  balloon.maximum=65536\n  vcpu.current=2\n  vcpu.maximum=2\n\n`.replace("'off'", `'${name}'`);

const t0 = 1_795_605_109_220_000_000n; // beyond 2^53: the parser must not lose precision
const second = 1_000_000_000n;

test('two samples give domain and host CPU load, from /proc/stat or from the domains', () => {
  const reply =
    sample(t0, 'cpu  1000 0 500 8000 100 0 0 0 0 0', vm('vm-80', 50n * second) + vm('vm-20x2', 7n * second, 1, 2) + off('idle')) +
    sample(t0 + 2n * second, 'cpu  1150 0 550 8180 120 0 0 0 0 0', vm('vm-80', 50n * second + 1_600_000_000n) + vm('vm-20x2', 7n * second + 800_000_000n, 1, 2) + off('idle'));
  const [a, b] = parseSamples(reply, 'node1', 'domstats');
  const byProcStat = loadBetween(a, b, 'procStat', 4);
  // /proc/stat: busy 200 of 400 jiffies.
  assert.equal(byProcStat.hostPercent, 50);
  assert.deepEqual(byProcStat.domains, [
    { name: 'vm-80', state: 'running', vcpus: 1, memoryMiB: 96, cpuLoadPercent: 80 },
    { name: 'vm-20x2', state: 'running', vcpus: 2, memoryMiB: 96, cpuLoadPercent: 20 },
    { name: 'idle', state: 'shutoff', vcpus: 2, memoryMiB: 64, cpuLoadPercent: 0 },
  ]);
  assert.equal(byProcStat.memoryUsedMiB, Math.round((24684256 - 23604224) / 1024));
  // Domains used 2.4 s of 4 cores × 2 s.
  assert.equal(loadBetween(a, b, 'domainSum', 4).hostPercent, 30);
});

test('a domain restarted between samples (counter went back) gets no made-up load', () => {
  const reply = sample(t0, 'cpu 1 0 1 1 0 0 0 0', vm('v', 90n * second)) + sample(t0 + second, 'cpu 2 0 2 2 0 0 0 0', vm('v', 1n * second));
  const [a, b] = parseSamples(reply, 'node1', 'domstats');
  assert.equal(loadBetween(a, b, 'procStat', 1).domains[0].cpuLoadPercent, 0);
});

test('malformed replies are refused with the host and the command named', () => {
  const good = sample(t0, 'cpu 1 0 1 1 0 0 0 0', vm('v', second));
  const cases: [string, RegExp][] = [
    ['', /no "@@tide-sample" marker/],
    [good.replace(String(t0), 'soon'), /host clock "soon"/],
    [good.replace('cpu 1 0 1 1', 'cpu x 0 1 1'), /\/proc\/stat "cpu" line/],
    [good.replace('MemAvailable:   23604224 kB', 'MemFree: 1 kB'), /MemAvailable/],
    [good.replace('  state.state=1\n', ''), /domain v: domstats has no state\.state/],
    [good.replace('cpu.time=1000000000', 'cpu.time=-1'), /cpu\.time="-1" is not a whole number/],
    [good + 'garbage here\n', /unexpected domstats line "garbage here"/],
  ];
  for (const [reply, detail] of cases) {
    assert.throws(
      () => parseSamples(reply, 'node7', 'virsh domstats'),
      (error: Error) => /host node7: unexpected reply to `virsh domstats`/.test(error.message) && detail.test(error.message),
      `reply ${JSON.stringify(reply.slice(0, 60))} should fail with ${detail}`,
    );
  }
});

test('job info: progress from data remaining/total, inactive jobs, garbage', () => {
  const running = 'Job type: 2\n\noperation: 5\ntime_elapsed: 3000\ndata_total: 101056512\ndata_processed: 14186959\ndata_remaining: 77938688\n';
  const info = parseJobInfo(running, 'n1', 'domjobinfo');
  assert.equal(info.active, true);
  assert.equal(info.elapsedMs, 3000);
  assert.ok(Math.abs(info.percent! - 22.876) < 0.01);
  assert.deepEqual(parseJobInfo('Job type: 2\n\ntime_elapsed: 5\ndata_total: 0\ndata_remaining: 0\n', 'n1', 'c'), { active: true, elapsedMs: 5, percent: undefined });
  assert.equal(parseJobInfo('Job type: 0\n\n', 'n1', 'c').active, false);
  assert.throws(() => parseJobInfo('Job type:         Unbounded\n', 'n1', 'virsh domjobinfo'), /host n1: unexpected reply to `virsh domjobinfo`: no numeric "Job type:"/);
});

test('domain state: states, absence, and errors that are not absence', () => {
  const ok = (stdout: string) => parseDomainState({ stdout, stderr: '', code: 0 }, 'n1', 'domstate');
  assert.equal(ok('running\n\n'), 'running');
  assert.equal(ok('shut off\n'), 'shutoff');
  assert.equal(ok('paused\n'), 'paused');
  assert.equal(parseDomainState({ stdout: '\n', stderr: "error: failed to get domain 'g'\n", code: 1 }, 'n1', 'c'), 'absent');
  assert.throws(() => parseDomainState({ stdout: '', stderr: 'error: failed to connect to the hypervisor\n', code: 1 }, 'n1', 'virsh domstate'), /host n1: .*`virsh domstate`.*failed to connect/);
  assert.throws(() => ok('dancing\n'), /unknown domain state "dancing"/);
});
