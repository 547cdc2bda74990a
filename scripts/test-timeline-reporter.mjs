/**
 * A node:test reporter that writes, when a run ends, how long each test file took from start to
 * end (wall time, with the files around it sharing the CPU) and how the run's tail went: the
 * slowest files and the time the run spent with fewer files running than it allowed. This is
 * where the CI run's time goes (docs/kube.md, "where the time goes"); test.sh prints it after each
 * phase. The file to write is TIDE_TEST_TIMELINE; without it the reporter writes nothing.
 *
 * A file starts at its `test:dequeue` and ends at its `test:complete` (both named by the file's
 * path, at nesting 0); these arrive as they happen, unlike the file's own tests, whose events
 * are held back until the files before it have reported.
 */
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';

const SLOWEST = 12;

export default async function* timelineReporter(source) {
  const t0 = Date.now();
  const started = new Map();
  const files = [];
  for await (const event of source) {
    const data = event.data ?? {};
    if (data.nesting !== 0 || !data.file || data.name !== data.file) continue;
    if (event.type === 'test:dequeue') started.set(data.file, Date.now() - t0);
    if (event.type === 'test:complete' && started.has(data.file)) {
      files.push({ file: relative(process.cwd(), data.file), start: started.get(data.file), end: Date.now() - t0 });
    }
  }
  const out = process.env.TIDE_TEST_TIMELINE;
  if (out) writeFileSync(out, summary(files, Number(process.env.TIDE_TEST_CONCURRENCY ?? 3)));
}

function summary(files, concurrency) {
  const s = (ms) => (ms / 1000).toFixed(0);
  const end = Math.max(0, ...files.map((f) => f.end));
  // The tail: from the last time the number of running files fell below what the run allows.
  const edges = files.flatMap((f) => [[f.start, 1], [f.end, -1]]).sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let running = 0;
  let tailFrom = 0;
  for (const [at, step] of edges) {
    if (running >= concurrency && running + step < concurrency) tailFrom = at;
    running += step;
  }
  const lines = [`${files.length} files in ${s(end)} s; fewer than ${concurrency} ran for the last ${s(end - tailFrom)} s. Slowest (wall s, start → end):`];
  for (const f of [...files].sort((a, b) => b.end - b.start - (a.end - a.start)).slice(0, SLOWEST)) {
    lines.push(`  ${s(f.end - f.start).padStart(4)}  ${s(f.start).padStart(4)} → ${s(f.end).padStart(4)}  ${f.file}`);
  }
  return lines.join('\n') + '\n';
}
