/**
 * Copies the generated CRDs (manifests/crds/, from `npm run gen`) into the Helm chart's crds/
 * folder, which Helm installs before the templates. The chart never gets CRDs of its own:
 * run this after `npm run gen`; `--check` only reports a difference (exit 1), for CI.
 *   npx tsx scripts/sync-chart-crds.ts [--check]
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SOURCE = join(ROOT, 'manifests/crds');
const TARGET = join(ROOT, 'charts/tide/crds');

const yamlFiles = (dir: string): string[] => {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
  } catch {
    return [];
  }
};

/** Files that differ between the two folders: missing, extra or changed in the chart. */
export function crdDifferences(source = SOURCE, target = TARGET): string[] {
  const wanted = yamlFiles(source);
  const present = new Set(yamlFiles(target));
  const missing = wanted.filter((f) => !present.has(f)).map((f) => `${f}: missing from ${target}`);
  const changed = wanted.filter((f) => present.has(f) && !readFileSync(join(source, f)).equals(readFileSync(join(target, f)))).map((f) => `${f}: differs from ${source}`);
  const extra = [...present].filter((f) => !wanted.includes(f)).map((f) => `${f}: not in ${source}`);
  return [...missing, ...changed, ...extra];
}

export function syncChartCrds(source = SOURCE, target = TARGET): void {
  mkdirSync(target, { recursive: true });
  const wanted = yamlFiles(source);
  for (const f of yamlFiles(target)) if (!wanted.includes(f)) rmSync(join(target, f));
  for (const f of wanted) copyFileSync(join(source, f), join(target, f));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--check')) {
    const differences = crdDifferences();
    for (const d of differences) console.error(d);
    if (differences.length) console.error('run: npx tsx scripts/sync-chart-crds.ts');
    process.exitCode = differences.length ? 1 : 0;
  } else {
    syncChartCrds();
    console.log(`copied ${yamlFiles(SOURCE).length} CRDs from manifests/crds/ to charts/tide/crds/`);
  }
}
