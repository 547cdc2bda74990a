/**
 * Renders what an operator would install: the kustomize output (real `kubectl kustomize`) and
 * the Helm chart, rendered by the real helm that scripts/envtest.sh builds (`helm template`,
 * with the chart's values.schema.json enforced as on install).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { helmBinary, REAL_KUBE } from '../realkube/envtest.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CHART = join(ROOT, 'charts/tide');
const run = promisify(execFile);

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

/** Every document of a multi-document YAML text; `where` names the source in errors. */
export function parseObjects(text: string, where: string): K8sObject[] {
  return parseAllDocuments(text).flatMap((doc, i) => {
    if (doc.errors.length) throw new Error(`${where}, document ${i + 1}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as K8sObject | null;
    return value === null ? [] : [value];
  });
}

// The files do not change while a test file runs: render each folder once (kubectl is slow to start).
const renderings = new Map<string, Promise<string>>();

export async function kustomize(dir: string): Promise<K8sObject[]> {
  if (!renderings.has(dir)) renderings.set(dir, run('kubectl', ['kustomize', dir], { maxBuffer: 64 << 20 }).then((r) => r.stdout));
  return parseObjects(await renderings.get(dir)!, `kubectl kustomize ${relative(ROOT, dir) || '.'}`);
}

/** Renders manifests/ with the zigbee-agent component, as a user's overlay would. */
let withZigbeeAgent: Promise<string> | undefined;

export async function kustomizeWithZigbeeAgent(): Promise<K8sObject[]> {
  withZigbeeAgent ??= (async () => {
    const overlay = mkdtempSync(join(tmpdir(), 'tide-overlay-'));
    try {
      // kustomize takes only relative paths to other kustomizations.
      const manifests = relative(overlay, join(ROOT, 'manifests'));
      writeFileSync(join(overlay, 'kustomization.yaml'), `resources: [${manifests}]\ncomponents: [${manifests}/install/zigbee-agent]\n`);
      return (await run('kubectl', ['kustomize', overlay], { maxBuffer: 64 << 20 })).stdout;
    } finally {
      rmSync(overlay, { recursive: true, force: true });
    }
  })();
  return parseObjects(await withZigbeeAgent, 'kubectl kustomize of manifests/ with the zigbee-agent component');
}

type Values = Record<string, unknown>;

export function chartValues(): Values {
  return parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Values;
}

/** `overrides` merged into `base` as Helm merges -f files: maps deeply, everything else replaced. */
export function mergeValues(base: Values, overrides: Values): Values {
  const out: Values = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    const old = out[key];
    const isMap = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v);
    out[key] = isMap(old) && isMap(value) ? mergeValues(old, value) : value;
  }
  return out;
}

export interface Release {
  name: string;
  namespace: string;
}

/**
 * Why the chart cannot be rendered in this run, or false: the chart is rendered by the real
 * helm, which is part of the real-server tier (test/realkube/envtest.ts). A test that renders
 * the chart passes this as its `skip` option, so an opted-out run shows it as skipped.
 */
export const chartSkip: string | false = REAL_KUBE.enabled ? false : `the chart is rendered by real helm, part of the real kube-apiserver tier, skipped because ${REAL_KUBE.reason}`;

/** The chart's templates (NOTES.txt and _helpers.tpl excluded: they render no objects). */
export const templateFiles = (): string[] => readdirSync(join(CHART, 'templates')).filter((f) => f.endsWith('.yaml')).sort();

const helmRenderings = new Map<string, Promise<string>>();

/** `helm template RELEASE charts/tide -n NAMESPACE -f <overrides>`: the real helm's output. */
export function helmTemplate(overrides: Values = {}, release: Release = { name: 'tide', namespace: 'tide-system' }, extraArgs: string[] = []): Promise<string> {
  const key = JSON.stringify([overrides, release, extraArgs]);
  if (!helmRenderings.has(key)) {
    helmRenderings.set(key, (async () => {
      const helm = await helmBinary();
      const dir = mkdtempSync(join(tmpdir(), 'tide-helm-'));
      try {
        const values = join(dir, 'values.json');
        writeFileSync(values, JSON.stringify(overrides));
        const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, HELM_CACHE_HOME: join(dir, 'c'), HELM_CONFIG_HOME: join(dir, 'g'), HELM_DATA_HOME: join(dir, 'd') };
        const r = await run(helm, ['template', release.name, CHART, '--namespace', release.namespace, '-f', values, ...extraArgs], { env, maxBuffer: 64 << 20 }).catch((err: { stderr?: string; message: string }) => {
          throw new Error(`helm template failed: ${err.stderr?.trim() || err.message}`);
        });
        return r.stdout;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    })());
  }
  return helmRenderings.get(key)!;
}

/** Each template rendered as text by real helm, keyed by file name ('' for one that rendered nothing). */
export async function renderChartTexts(overrides: Values = {}, release?: Release): Promise<Map<string, string>> {
  const out = await helmTemplate(overrides, release);
  const texts = new Map<string, string>(templateFiles().map((f) => [f, '']));
  // helm template prints "---\n# Source: tide/templates/FILE" before each document.
  for (const doc of out.split(/^---\n/m)) {
    const source = /^# Source: [^/]+\/templates\/(\S+)$/m.exec(doc)?.[1];
    if (!source) continue;
    texts.set(source, texts.get(source) ? `${texts.get(source)}---\n${doc}` : doc);
  }
  return texts;
}

export async function renderChart(overrides: Values = {}, release?: Release): Promise<K8sObject[]> {
  const texts = await renderChartTexts(overrides, release);
  return [...texts].flatMap(([file, text]) => parseObjects(text, `charts/tide/templates/${file}`));
}

export const byKind = (objects: K8sObject[], kind: string): K8sObject[] => objects.filter((o) => o.kind === kind);

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}
