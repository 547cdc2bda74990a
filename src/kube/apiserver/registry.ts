/** Which resources are served: the built-ins plus every established CRD's versions. */
import { builtinResources } from './builtins.ts';
import { resourcesFromCrd } from './crd.ts';
import type { KubeObject, ResourceType } from './types.ts';

/** Kubernetes version priority: v1 > v1beta2 > v1beta1 > v1alpha1 > anything else. */
function compareVersions(a: string, b: string): number {
  const rank = (v: string) => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [0, 0, 0];
    return [m[2] === 'alpha' ? 1 : m[2] === 'beta' ? 2 : 3, Number(m[1]), Number(m[3] ?? 0)];
  };
  const [ra, rb] = [rank(a), rank(b)];
  for (let i = 0; i < 3; i++) if (ra[i] !== rb[i]) return rb[i]! - ra[i]!;
  return a.localeCompare(b);
}

export interface GroupVersions {
  group: string;
  versions: string[];
}

export class ResourceRegistry {
  private readonly fromCrds = new Map<string, ResourceType[]>();
  /** Bumped on every change so cached discovery/OpenAPI documents get new hashes. */
  generation = 0;

  all(): ResourceType[] {
    return [...builtinResources, ...[...this.fromCrds.values()].flat()];
  }

  find(group: string, version: string, plural: string): ResourceType | undefined {
    return this.all().find((r) => r.group === group && r.version === version && r.plural === plural);
  }

  inGroupVersion(group: string, version: string): ResourceType[] {
    return this.all().filter((r) => r.group === group && r.version === version);
  }

  /** Groups with their versions, preferred first; the core group ('') included. */
  groups(): GroupVersions[] {
    const byGroup = new Map<string, Set<string>>();
    for (const r of this.all()) {
      if (!byGroup.has(r.group)) byGroup.set(r.group, new Set());
      byGroup.get(r.group)!.add(r.version);
    }
    return [...byGroup].map(([group, versions]) => ({ group, versions: [...versions].sort(compareVersions) }));
  }

  registerCrd(crd: KubeObject): void {
    this.fromCrds.set(crd.metadata.name!, resourcesFromCrd(crd));
    this.generation++;
  }

  unregisterCrd(name: string): void {
    this.fromCrds.delete(name);
    this.generation++;
  }
}
