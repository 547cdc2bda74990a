/**
 * Fuzzing what hosts send back: the two-sample reply (clock, /proc/stat, /proc/meminfo,
 * `virsh domstats --raw`), `virsh domjobinfo --rawstats`, `virsh domstate`, and the known_hosts
 * text of a host's Secret — random text and valid replies with characters and lines damaged.
 * A parser either returns figures the operator can use (finite, in range) or throws a
 * HypervisorError (BadReply / InvalidSpec) naming the host, the command and the line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HypervisorError } from '../../src/hypervisor/errors.ts';
import { loadBetween } from '../../src/hypervisor/cpu-load.ts';
import { parseDomstats, parseSamples } from '../../src/hypervisor/host-sample.ts';
import { parseDomainState, parseJobInfo } from '../../src/hypervisor/job-info.ts';
import { checkHostKey, parseKnownHosts } from '../../src/hypervisor/known-hosts.ts';
import { fuzzParams } from './runs.ts';

const HOST = 'node-7';
const COMMAND = 'virsh domstats (two samples)';

/** A valid reply in the shape twoSamplesCommand gets (virsh 9 domstats --raw). */
function validReply(): string {
  const vm = (name: string, cpuNs: bigint, state = 1) =>
    `Domain: '${name}'\n  state.state=${state}\n  state.reason=1\n  cpu.time=${cpuNs}\n  balloon.current=98304\n  balloon.maximum=98304\n  vcpu.current=2\n  vcpu.maximum=2\n\n`;
  const sample = (at: bigint, cpu: string, vms: string) => `@@tide-sample ${at}\n${cpu}\nMemTotal:       24684256 kB\nMemAvailable:   23604224 kB\n${vms}`;
  const t0 = 1_795_605_109_220_000_000n;
  return (
    sample(t0, 'cpu  1000 0 500 8000 100 0 0 0 0 0', vm('web-1', 50_000_000_000n) + vm('db.2', 7_000_000_000n, 3)) +
    sample(t0 + 1_000_000_000n, 'cpu  1150 0 550 8180 120 0 0 0 0 0', vm('web-1', 50_800_000_000n) + vm('db.2', 7_000_000_000n, 3))
  );
}

/** Characters that matter to these parsers, and some that should not. */
const interesting = fc.constantFrom('\n', ' ', '\t', "'", '=', '.', '0', '9', '-', ':', 'é', '\r', '@', '\0', 'kB', 'Domain: ', '@@tide-sample ', '99999999999999999999999');

const edit = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(interesting, fc.string({ maxLength: 4 })) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constant('dropLine' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('repeatLine' as const), at: fc.nat() }),
);
type Edit = typeof edit extends fc.Arbitrary<infer E> ? E : never;

function applyEdits(text: string, edits: Edit[]): string {
  let out = text;
  for (const e of edits) {
    if (e.kind === 'insert') {
      const at = e.at % (out.length + 1);
      out = out.slice(0, at) + e.text + out.slice(at);
    } else if (e.kind === 'delete') {
      const at = e.at % (out.length + 1);
      out = out.slice(0, at) + out.slice(at + e.count);
    } else {
      const lines = out.split('\n');
      const at = e.at % lines.length;
      if (e.kind === 'dropLine') lines.splice(at, 1);
      else lines.splice(at, 0, lines[at]!);
      out = lines.join('\n');
    }
  }
  return out;
}

/** Runs a parser: its result, or undefined after checking it threw a HypervisorError naming host and command. */
function parsedOrBadReply<T>(fn: () => T, reason: string, mentions: string[]): T | undefined {
  try {
    return fn();
  } catch (err) {
    assert.ok(err instanceof HypervisorError, `threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    assert.equal(err.reason, reason, err.message);
    for (const m of mentions) assert.ok(err.message.includes(m), `"${err.message}" does not name ${m}`);
    return undefined;
  }
}

function checkSamples(text: string): void {
  const samples = parsedOrBadReply(() => parseSamples(text, HOST, COMMAND), 'BadReply', [`host ${HOST}`, COMMAND]);
  if (!samples) return;
  for (const s of samples) {
    assert.equal(typeof s.atNs, 'bigint');
    for (const d of s.domains) {
      assert.ok(Number.isSafeInteger(d.vcpus) || d.vcpus > 0, `vcpus ${d.vcpus}`);
      assert.ok(Number.isFinite(d.memoryKiB), `memory ${d.memoryKiB}`);
    }
  }
  if (samples.length < 2) return;
  for (const source of ['procStat', 'domainSum'] as const) {
    const figures = loadBetween(samples[0]!, samples[1]!, source, 4);
    assert.ok(figures.hostPercent >= 0 && figures.hostPercent <= 100, `host load ${figures.hostPercent}`);
    assert.ok(Number.isFinite(figures.memoryUsedMiB));
    for (const d of figures.domains) assert.ok(d.cpuLoadPercent >= 0 && d.cpuLoadPercent <= 100, `${d.name}: ${d.cpuLoadPercent}`);
  }
}

test('the sample reply: damaged valid replies give usable figures or a BadReply naming host and command', () => {
  assert.equal(parseSamples(validReply(), HOST, COMMAND).length, 2, 'the fixture is valid');
  fc.assert(fc.property(fc.array(edit, { minLength: 1, maxLength: 8 }), (edits) => checkSamples(applyEdits(validReply(), edits))), fuzzParams(1500));
});

test('the sample reply: random text never gets past the parser unchecked', () => {
  const randomReply = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.array(fc.oneof(interesting, fc.string({ maxLength: 10 })), { maxLength: 60 }).map((parts) => parts.join('')),
    fc.array(fc.oneof(interesting, fc.string({ maxLength: 10 })), { maxLength: 60 }).map((parts) => `@@tide-sample 1795605109220000000\n${parts.join('')}`),
  );
  fc.assert(fc.property(randomReply, checkSamples), fuzzParams(1500));
});

test('domstats blocks alone: domains or a failure naming the line', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(interesting, fc.string({ maxLength: 12 }), fc.constantFrom("Domain: 'x'", '  state.state=1', '  balloon.maximum=1', '  vcpu.maximum=1')), { maxLength: 20 }), (lines) => {
      try {
        parseDomstats(lines, (detail) => new HypervisorError('BadReply', `host ${HOST}: ${detail}`, HOST));
      } catch (err) {
        assert.ok(err instanceof HypervisorError && err.message.startsWith(`host ${HOST}: `), String(err));
      }
    }),
    fuzzParams(1500),
  );
});

test('domjobinfo and domstate replies: a job, a state, or a BadReply', () => {
  const jobInfo = 'Job type:         2\nOperation:        1\ntime_elapsed:     1234\ndata_total:       1000\ndata_processed:   400\ndata_remaining:   600\n';
  const command = "'virsh' '-c' 'qemu:///system' 'domjobinfo' '--rawstats' 'web-1'";
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.array(edit, { maxLength: 6 }).map((e) => applyEdits(jobInfo, e))), (text) => {
      const info = parsedOrBadReply(() => parseJobInfo(text, HOST, command), 'BadReply', [`host ${HOST}`, command]);
      if (!info) return;
      assert.equal(typeof info.active, 'boolean');
      if (info.percent !== undefined) assert.ok(info.percent >= 0 && info.percent <= 100, `percent ${info.percent}`);
      if (info.elapsedMs !== undefined) assert.ok(Number.isFinite(info.elapsedMs) && info.elapsedMs >= 0);
    }),
    fuzzParams(1500),
  );
  const states = ['running', 'paused', 'shutoff', 'other', 'absent'];
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 60 }), fc.string({ maxLength: 60 }), fc.option(fc.integer({ min: -1, max: 255 })), (stdout, stderr, code) => {
      const state = parsedOrBadReply(() => parseDomainState({ stdout, stderr, code }, HOST, 'virsh domstate'), 'BadReply', [`host ${HOST}`, 'virsh domstate']);
      if (state !== undefined) assert.ok(states.includes(state));
    }),
    fuzzParams(1500),
  );
});

test('domjobinfo regression: a huge data_total does not give a progress above 100 %', () => {
  // Counterexample found above: percent 100.00000000000001, which status.migration.progressPercent (maximum 100) refuses.
  const reply = 'Job type:         2\ntime_elapsed:     1234\ndata_total:       999999999999999999999991000\ndata_remaining:   600\n';
  assert.equal(parseJobInfo(reply, HOST, 'virsh domjobinfo').percent, 100);
});

test('known_hosts from a Secret: entries or an InvalidSpec naming the Secret and the line', () => {
  const key = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 7)]).toString('base64');
  const valid = `# lab hosts\n@revoked old.lab ssh-ed25519 ${key}\nnode-7,10.0.0.7 ssh-ed25519 ${key}\n[node-7]:2222 ssh-ed25519 ${key} comment\n|1|c2FsdA==|aGFzaA== ssh-ed25519 ${key}\n`;
  const source = 'Secret tide/node-7-ssh known_hosts';
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.array(edit, { maxLength: 6 }).map((e) => applyEdits(valid, e))), fc.string({ maxLength: 20 }), (text, probe) => {
      const entries = parsedOrBadReply(() => parseKnownHosts(text, source), 'InvalidSpec', [source, 'line ']);
      if (!entries) return;
      // Whatever was accepted can be matched against (patterns with any characters compile).
      const verdict = checkHostKey(entries, probe || 'node-7', 22, Buffer.from(key, 'base64'));
      assert.ok(['trusted', 'unknown', 'mismatch', 'revoked'].includes(verdict));
    }),
    fuzzParams(1500),
  );
});
