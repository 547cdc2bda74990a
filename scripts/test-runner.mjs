/**
 * Runs test files with node:test's run(), as `node --test --test-concurrency=N FILES` does, with
 * three differences that shorten a phase of scripts/test.sh:
 *
 * - **Longest first.** `node --test` sorts its files by name whatever order it is given, so a
 *   long file late in the alphabet (the operator end-to-end files under test/realkube) could end
 *   a phase with the other slots idle. This runner starts the files that took longest last time
 *   first (their wall times are kept in DURATIONS, by default ~/.cache/tide-test/durations.json;
 *   files it has no time for go first, then the rest by name when there is no record at all).
 * - **No lingering.** A file's process exits once its tests are done (`forceExit`), even if a
 *   timer or a socket would keep it alive; its `exit` handlers (the lab's, a private server's)
 *   still run.
 * - **A timeline.** When the run ends it prints each file's wall time (start to end, with the
 *   files beside it sharing the CPU), the slowest files and how long the run's tail was (the time
 *   at the end when fewer files ran than it allows), and records the times for the next run.
 *
 * The report on stdout is TAP, as before; the exit code is 1 when a test failed.
 *
 *   node scripts/test-runner.mjs --concurrency N --label NAME FILE...
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { finished } from 'node:stream/promises';
import { run } from 'node:test';
import { tap } from 'node:test/reporters';

const SLOWEST = 12;
const DURATIONS = process.env.TIDE_TEST_DURATIONS ?? join(homedir(), '.cache/tide-test/durations.json');

const args = process.argv.slice(2);
let concurrency = 1;
let label = 'tests';
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--concurrency') concurrency = Number(args[++i]);
  else if (args[i] === '--label') label = args[++i];
  else files.push(args[i]);
}
if (!Number.isInteger(concurrency) || concurrency < 1 || files.length === 0) {
  console.error('usage: node scripts/test-runner.mjs --concurrency N [--label NAME] FILE...');
  process.exit(2);
}

const known = readDurations();
const ordered = orderLongestFirst(files, known);
// forceExit: a file's process ends once its tests (and their after hooks) are done, not when its
// last timer or socket lets go. The lab files each lingered 10 s that way, holding their slot.
const stream = run({ files: ordered.map((f) => resolve(f)), concurrency, forceExit: true });
const report = stream.pipe(new PassThrough({ objectMode: true })).compose(tap);
report.pipe(process.stdout, { end: false });
const events = stream.pipe(new PassThrough({ objectMode: true }));

const started = new Map();
const timeline = [];
const t0 = Date.now();
for await (const event of events) {
  const data = event.data ?? {};
  if (event.type === 'test:fail' && !data.todo) process.exitCode = 1;
  // A file's own events name it at nesting 0; its dequeue and complete arrive as they happen,
  // unlike its tests', which are held back until the files before it have reported.
  if (data.nesting !== 0 || !data.file || data.name !== data.file) continue;
  const file = files.find((f) => resolve(f) === data.file) ?? data.file;
  if (event.type === 'test:dequeue') started.set(file, Date.now() - t0);
  if (event.type === 'test:complete' && started.has(file)) timeline.push({ file, start: started.get(file), end: Date.now() - t0 });
}
await finished(report);
console.log(summary(timeline, concurrency, label, known.size > 0));
recordDurations(known, timeline);

function readDurations() {
  try {
    return new Map(Object.entries(JSON.parse(readFileSync(DURATIONS, 'utf8'))));
  } catch {
    return new Map(); // no record yet (a fresh machine), or one this runner cannot read
  }
}

/** Files with no recorded time first (new, maybe long), then the longest; by name otherwise. */
function orderLongestFirst(names, durations) {
  const time = (f) => durations.get(f) ?? Infinity;
  return [...names].sort((a, b) => time(b) - time(a) || a.localeCompare(b));
}

function recordDurations(known, runs) {
  for (const r of runs) known.set(r.file, r.end - r.start);
  try {
    mkdirSync(dirname(DURATIONS), { recursive: true });
    writeFileSync(DURATIONS, JSON.stringify(Object.fromEntries([...known].sort()), null, 1) + '\n');
  } catch (error) {
    console.log(`# test-runner: the files' times were not recorded in ${DURATIONS}: ${error.message}`);
  }
}

function summary(runs, slots, name, ordered) {
  const s = (ms) => (ms / 1000).toFixed(0);
  const end = Math.max(0, ...runs.map((r) => r.end));
  // The tail: from the last time the number of running files fell below what the run allows.
  const edges = runs.flatMap((r) => [[r.start, 1], [r.end, -1]]).sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let running = 0;
  let tailFrom = 0;
  for (const [at, step] of edges) {
    if (running >= slots && running + step < slots) tailFrom = at;
    running += step;
  }
  const lines = [
    `${name}: ${runs.length} files in ${s(end)} s, ${slots} at a time, ${ordered ? 'longest first (times of the last run)' : 'by name (no times recorded yet)'}; fewer than ${slots} ran for the last ${s(end - tailFrom)} s.`,
    `${name}: slowest files (wall s, start → end):`,
  ];
  for (const r of [...runs].sort((a, b) => b.end - b.start - (a.end - a.start)).slice(0, SLOWEST)) {
    lines.push(`${name}:   ${s(r.end - r.start).padStart(4)}  ${s(r.start).padStart(4)} → ${s(r.end).padStart(4)}  ${r.file}`);
  }
  return lines.join('\n');
}
