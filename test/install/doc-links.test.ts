/**
 * The README and docs/ are read in a clone: every link and every path they point at must be in
 * the repository (a `../shared/…` path of the machine they were written on is not). Links to
 * the web are fine; code blocks are left alone (their paths are the reader's own layout).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** The text outside fenced code blocks, line numbers kept. */
function prose(text: string): string[] {
  let fenced = false;
  return text.split('\n').map((line) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return '';
    }
    return fenced ? '' : line;
  });
}

const inside = (path: string) => {
  const r = relative(ROOT, path);
  return r !== '..' && !r.startsWith(`..${sep}`);
};

test('README and docs link only to files inside the repository, and every such file exists', () => {
  const problems: string[] = [];
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    // Anywhere, code blocks included: the folder beside the repository on the machine it was written on.
    text.split('\n').forEach((line, i) => {
      if (/\.\.\/shared\b/.test(line)) problems.push(`${file}:${i + 1}: names ../shared, which a clone does not have`);
    });
    prose(text).forEach((line, i) => {
      const where = `${file}:${i + 1}`;
      for (const [, target] of line.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^(https?:|mailto:|#)/.test(target!)) continue;
        const path = resolve(dirname(join(ROOT, file)), decodeURI(target!.split('#')[0]!));
        if (!inside(path)) problems.push(`${where}: link ${target} leaves the repository`);
        else if (!existsSync(path)) problems.push(`${where}: link ${target} names no file`);
      }
      // A path in inline code that climbs out of the folder it is written in, e.g. `../x/y`.
      for (const [, path] of line.matchAll(/`(\.\.\/[^`\s]+)`/g)) {
        if (!inside(resolve(dirname(join(ROOT, file)), path!))) problems.push(`${where}: \`${path}\` is outside the repository`);
      }
    });
  }
  assert.deepEqual(problems, []);
});

test('the check finds what it is meant to find', () => {
  assert.deepEqual(prose('a\n```\n../shared/x\n```\nb'), ['a', '', '', '', 'b']);
  assert.equal(inside(resolve(ROOT, '../shared/data')), false);
  assert.equal(inside(resolve(ROOT, 'docs/../src')), true);
});
