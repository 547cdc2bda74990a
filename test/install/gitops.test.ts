/**
 * The GitOps bootstrap files: they point at folders that exist and render, and the patch both
 * of them put on the CRDs (never prune) does exactly that when kustomize applies it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { stringify } from 'yaml';
import { byKind, kustomize, parseObjects, ROOT, type K8sObject } from './render.ts';

const bootstrap = (file: string) => parseObjects(readFileSync(join(ROOT, 'manifests/examples/gitops/bootstrap', file), 'utf8'), file);
const argo = bootstrap('argocd-applications.yaml');
const flux = bootstrap('flux-kustomizations.yaml');

test('both bootstraps sync Tide from manifests/ and the configuration from this folder', () => {
  assert.deepEqual(argo.map((o) => `${o.kind}/${o.metadata.name}`), ['Application/tide', 'Application/tide-config']);
  assert.deepEqual(flux.map((o) => `${o.kind}/${o.metadata.name}`), ['GitRepository/tide', 'Kustomization/tide', 'GitRepository/cluster-config', 'Kustomization/tide-config']);
  const paths = [...argo.map((a) => (a.spec as any).source.path), ...byKind(flux, 'Kustomization').map((k) => (k.spec as any).path.replace(/^\.\//, ''))];
  assert.deepEqual(paths, ['manifests', 'manifests/examples/gitops', 'manifests', 'manifests/examples/gitops']);
  for (const p of paths) assert.ok(existsSync(join(ROOT, p, 'kustomization.yaml')), p);
  // Flux applies the configuration only once Tide (and so its CRDs) is ready.
  assert.deepEqual((byKind(flux, 'Kustomization')[1]!.spec as any).dependsOn, [{ name: 'tide' }]);
});

/** manifests/ rendered with a bootstrap's kustomize patches and images, as Argo CD or Flux would. */
async function renderAsSynced(patches: unknown[], images: unknown[]): Promise<K8sObject[]> {
  const overlay = mkdtempSync(join(tmpdir(), 'tide-gitops-'));
  try {
    writeFileSync(join(overlay, 'kustomization.yaml'), stringify({ resources: [relative(overlay, join(ROOT, 'manifests'))], patches, images }));
    return await kustomize(overlay);
  } finally {
    rmSync(overlay, { recursive: true, force: true });
  }
}

test('the bootstraps keep the CRDs from being pruned, and only the CRDs', async () => {
  const fluxSpec = byKind(flux, 'Kustomization')[0]!.spec as any;
  const argoSource = (argo[0]!.spec as any).source.kustomize;
  const [newName, newTag] = (argoSource.images[0] as string).split('=')[1]!.split(':');
  const cases: Array<[string, unknown[], unknown[], Record<string, string>]> = [
    ['Flux', fluxSpec.patches, fluxSpec.images, { 'kustomize.toolkit.fluxcd.io/prune': 'disabled' }],
    ['Argo CD', argoSource.patches, [{ name: 'tide-operator', newName, newTag }], { 'argocd.argoproj.io/sync-options': 'Prune=false' }],
  ];
  for (const [tool, patches, images, annotations] of cases) {
    const objects = await renderAsSynced(patches, images);
    for (const o of objects) assert.deepEqual(o.metadata.annotations, o.kind === 'CustomResourceDefinition' ? annotations : undefined, `${tool}: ${o.kind}/${o.metadata.name}`);
    const deployment = objects.find((o) => o.kind === 'Deployment')!;
    assert.equal((deployment.spec as any).template.spec.containers[0].image, 'registry.example.com/tide-operator:0.1.0', tool);
  }
});
