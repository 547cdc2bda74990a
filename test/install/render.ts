/**
 * Renders what an operator would install: the kustomize output (real `kubectl kustomize`) and
 * the Helm chart. There is no helm binary here; the chart keeps to Go's built-in template
 * language, so Go's own text/template (compiled to WebAssembly in @evertdespiegeleer/go-template)
 * renders it as Helm would, given the same .Values/.Release/.Chart. Unlike Helm it fails on a
 * missing key, which is stricter.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse as renderGoTemplate } from '@evertdespiegeleer/go-template';
import { parse as parseYaml, parseAllDocuments } from 'yaml';

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

export const templateFiles = (): string[] => readdirSync(join(CHART, 'templates')).filter((f) => f.endsWith('.yaml')).sort();

/** Each template rendered as text, keyed by file name. */
export async function renderChartTexts(overrides: Values = {}, release: Release = { name: 'tide', namespace: 'tide-system' }): Promise<Map<string, string>> {
  const chart = parseYaml(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as { name: string; version: string; appVersion: string };
  const context = {
    Values: mergeValues(chartValues(), overrides),
    Release: { Name: release.name, Namespace: release.namespace, Service: 'Helm', IsInstall: true, IsUpgrade: false, Revision: 1 },
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
  };
  // Helm shares the `define`s of every template (by convention in _helpers.tpl) with all others.
  const helpers = readdirSync(join(CHART, 'templates')).filter((f) => f.endsWith('.tpl')).map((f) => readFileSync(join(CHART, 'templates', f), 'utf8')).join('');
  const texts = new Map<string, string>();
  for (const file of templateFiles()) {
    const template = readFileSync(join(CHART, 'templates', file), 'utf8');
    try {
      texts.set(file, await renderGoTemplate(helpers + template, context));
    } catch (err) {
      throw new Error(`charts/tide/templates/${file}: ${(err as Error).message}`);
    }
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
