/** Discovery documents: /version, /api, /apis, and each group and group/version's resource list. */
import type { ResourceRegistry } from './registry.ts';
import type { ResourceType } from './types.ts';

export const KUBERNETES_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0-tide.dev', platform: 'linux/amd64', goVersion: 'n/a (Node.js)', compiler: 'tide', buildDate: '2026-01-01T00:00:00Z', gitCommit: '', gitTreeState: 'clean' };

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function coreVersions(serverAddress: string) {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function groupDoc(group: string, versions: string[]) {
  const gv = (version: string) => ({ groupVersion: `${group}/${version}`, version });
  return { name: group, versions: versions.map(gv), preferredVersion: gv(versions[0]!) };
}

export function groupList(registry: ResourceRegistry) {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: registry.groups().filter((g) => g.group !== '').map((g) => groupDoc(g.group, g.versions)),
  };
}

export function group(registry: ResourceRegistry, name: string) {
  const found = registry.groups().find((g) => g.group === name);
  return found && { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(found.group, found.versions) };
}

function resourceEntries(r: ResourceType) {
  const main = {
    name: r.plural,
    singularName: r.singular,
    namespaced: r.namespaced,
    kind: r.kind,
    verbs: r.review ? ['create'] : VERBS,
    ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
    ...(r.categories.length ? { categories: r.categories } : {}),
    storageVersionHash: '',
  };
  const status = { name: `${r.plural}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] };
  return r.statusSubresource ? [main, status] : [main];
}

export function resourceList(registry: ResourceRegistry, group: string, version: string) {
  const resources = registry.inGroupVersion(group, version);
  if (resources.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: resources.flatMap(resourceEntries),
  };
}
