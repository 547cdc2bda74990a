/**
 * The built-in resources the server serves besides custom ones: what an operator and kubectl
 * need around CRDs (namespaces, Secrets, ConfigMaps, Events in both API groups, Leases, the
 * CustomResourceDefinitions themselves, and SelfSubjectAccessReviews for `kubectl auth can-i`).
 */
import { CRD_ZERO } from './crd.ts';
import { badRequest } from './status.ts';
import { ageColumn, jsonPathColumn, nameColumn } from './tables.ts';
import type { Column, KubeObject, ResourceType } from './types.ts';

type BuiltinSpec = Omit<ResourceType, 'storageKey' | 'listKind' | 'singular' | 'custom' | 'tracksGeneration' | 'shortNames' | 'categories' | 'statusSubresource' | 'columns'> &
  Partial<Pick<ResourceType, 'shortNames' | 'categories' | 'statusSubresource' | 'tracksGeneration' | 'storageKey'>> & { columns?: Column[] };

function builtin(spec: BuiltinSpec): ResourceType {
  return {
    shortNames: [],
    categories: [],
    statusSubresource: false,
    tracksGeneration: false,
    storageKey: `${spec.group}/${spec.plural}`,
    ...spec,
    columns: [nameColumn, ...(spec.columns ?? []), ageColumn],
    singular: spec.kind.toLowerCase(),
    listKind: `${spec.kind}List`,
    custom: false,
  };
}

const column = (name: string, jsonPath: string, type = 'string') => jsonPathColumn({ name, type, jsonPath });

/** Where Go's base64 decoder gives up on a value (the real server decodes Secret data as it reads the body), or -1. */
function base64ErrorAt(value: string): number {
  const bad = value.search(/[^A-Za-z0-9+/=]|=[^=]|={3}/);
  if (bad >= 0) return value[bad] === '=' ? bad + 1 : bad;
  return value.length % 4 ? value.length - (value.length % 4) : -1;
}

/** Secret data that is not base64 is a 400, as the real server's decoding of `[]byte` makes it. */
function checkBase64(obj: KubeObject): void {
  for (const v of Object.values<unknown>(obj.data ?? {})) {
    const at = typeof v === 'string' ? base64ErrorAt(v) : 0;
    if (at >= 0) throw badRequest(`Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte ${at}`);
  }
}

const secrets = builtin({
  group: '',
  version: 'v1',
  kind: 'Secret',
  plural: 'secrets',
  namespaced: true,
  columns: [column('Type', '.type'), { name: 'Data', type: 'integer', priority: 0, cell: (o) => Object.keys(o.data ?? {}).length }],
  normalize(obj) {
    checkBase64(obj);
    // stringData is write-only: merged into data (base64) and never stored.
    if (obj.stringData) {
      obj.data = { ...(obj.data ?? {}) };
      for (const [k, v] of Object.entries<string>(obj.stringData)) obj.data[k] = Buffer.from(String(v)).toString('base64');
      delete obj.stringData;
    }
    obj.type ??= 'Opaque';
  },
});

const configMaps = builtin({ group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true, shortNames: ['cm'], columns: [{ name: 'Data', type: 'integer', priority: 0, cell: (o) => Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length }] });

const namespaces = builtin({
  group: '',
  version: 'v1',
  kind: 'Namespace',
  plural: 'namespaces',
  namespaced: false,
  shortNames: ['ns'],
  statusSubresource: true,
  columns: [column('Status', '.status.phase')],
  zero: { spec: {}, status: {} },
  normalize(obj) {
    // The real server labels every namespace with its own name (a default, so its creator owns it).
    if (obj.metadata.name) obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': obj.metadata.name };
  },
  // Its create strategy sets these, after managedFields are recorded.
  prepareForCreate(obj) {
    obj.spec = { ...(obj.spec ?? {}), finalizers: obj.spec?.finalizers ?? ['kubernetes'] };
    obj.status = { phase: 'Active' };
  },
});

/** The field selectors `kubectl describe` uses to find an object's Events. */
const eventFieldLabels: Record<string, (o: KubeObject) => string> = {
  ...Object.fromEntries(
    ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath'].map((f) => [`involvedObject.${f}`, (o: KubeObject) => String(o.involvedObject?.[f] ?? '')]),
  ),
  reason: (o) => String(o.reason ?? ''),
  type: (o) => String(o.type ?? ''),
  source: (o) => String(o.source?.component ?? o.reportingComponent ?? ''),
  reportingComponent: (o) => String(o.reportingComponent ?? ''),
};

const coreEvents = builtin({
  group: '',
  version: 'v1',
  kind: 'Event',
  plural: 'events',
  namespaced: true,
  shortNames: ['ev'],
  fieldLabels: eventFieldLabels,
  microTimeFields: ['eventTime', 'series.lastObservedTime'],
  zero: { involvedObject: {}, source: {} },
  columns: [
    { name: 'Last Seen', type: 'date', priority: 0, cell: (o) => o.lastTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp },
    column('Type', '.type'),
    column('Reason', '.reason'),
    { name: 'Object', type: 'string', priority: 0, cell: (o) => `${String(o.involvedObject?.kind ?? '').toLowerCase()}/${o.involvedObject?.name ?? ''}` },
    column('Message', '.message'),
  ],
});

const definedOnly = (obj: Record<string, unknown>) => Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as KubeObject;

/** events.k8s.io/v1 Events share storage with core v1 Events, as on a real cluster; these convert. */
const eventsV1 = builtin({
  group: 'events.k8s.io',
  version: 'v1',
  kind: 'Event',
  plural: 'events',
  namespaced: true,
  shortNames: ['ev'],
  storageKey: '/events',
  microTimeFields: ['eventTime', 'series.lastObservedTime'],
  zero: { regarding: {}, deprecatedSource: {} },
  columns: coreEvents.columns.slice(1, -1),
  fromStorage: (e) =>
    definedOnly({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: e.metadata,
      eventTime: e.eventTime ?? null,
      series: e.series,
      reportingController: e.reportingComponent ?? e.source?.component,
      reportingInstance: e.reportingInstance ?? e.source?.host,
      action: e.action,
      reason: e.reason,
      regarding: e.involvedObject,
      related: e.related,
      note: e.message,
      type: e.type,
      deprecatedSource: e.source,
      deprecatedFirstTimestamp: e.firstTimestamp,
      deprecatedLastTimestamp: e.lastTimestamp,
      deprecatedCount: e.count,
    }),
  toStorage: (e) =>
    definedOnly({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: e.metadata,
      involvedObject: e.regarding ?? {},
      related: e.related,
      reason: e.reason,
      message: e.note,
      type: e.type,
      action: e.action,
      eventTime: e.eventTime,
      series: e.series,
      reportingComponent: e.reportingController,
      reportingInstance: e.reportingInstance,
      source: e.deprecatedSource ?? (e.reportingController ? { component: e.reportingController } : undefined),
      firstTimestamp: e.deprecatedFirstTimestamp,
      lastTimestamp: e.deprecatedLastTimestamp ?? e.series?.lastObservedTime,
      count: e.deprecatedCount ?? e.series?.count,
    }),
});

const leases = builtin({
  group: 'coordination.k8s.io',
  version: 'v1',
  kind: 'Lease',
  plural: 'leases',
  namespaced: true,
  microTimeFields: ['spec.acquireTime', 'spec.renewTime'],
  zero: { spec: {} },
  columns: [column('Holder', '.spec.holderIdentity')],
});

const crdResource: ResourceType = {
  ...builtin({
    group: 'apiextensions.k8s.io',
    version: 'v1',
    kind: 'CustomResourceDefinition',
    plural: 'customresourcedefinitions',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    statusSubresource: true,
    tracksGeneration: true,
    zero: CRD_ZERO,
  }),
  columns: [nameColumn, { name: 'Created At', type: 'string', format: 'date', priority: 0, cell: (o) => o.metadata.creationTimestamp }],
};

/** `kubectl auth can-i` asks this; the answer follows the server's authorizer (everything by default). */
const selfSubjectAccessReviews = builtin({
  group: 'authorization.k8s.io',
  version: 'v1',
  kind: 'SelfSubjectAccessReview',
  plural: 'selfsubjectaccessreviews',
  namespaced: false,
  review(body, allowed) {
    const attrs = body.spec?.resourceAttributes ?? {};
    const request = {
      verb: attrs.verb,
      group: attrs.group ?? '',
      version: attrs.version ?? '',
      resource: attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource,
      ...(attrs.namespace ? { namespace: attrs.namespace } : {}),
      ...(attrs.name ? { name: attrs.name } : {}),
    };
    const ok = body.spec?.nonResourceAttributes ? true : allowed(request);
    return { ...body, metadata: { creationTimestamp: null as unknown as string }, status: { allowed: ok, ...(ok ? {} : { reason: 'denied by the development API server authorizer' }) } };
  },
});

/**
 * The objects an operator's installation consists of, stored as given (no controllers run them,
 * no schema beyond object metadata is enforced): enough for `kubectl apply -k` of an install to be
 * accepted, listed and deleted here. Their shapes are checked elsewhere (test/install).
 */
const installObjects = [
  builtin({ group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true, shortNames: ['sa'] }),
  builtin({ group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true, shortNames: ['svc'], columns: [column('Type', '.spec.type'), column('Cluster-IP', '.spec.clusterIP')] }),
  builtin({ group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true, shortNames: ['deploy'], tracksGeneration: true, statusSubresource: true, columns: [column('Replicas', '.spec.replicas', 'integer')] }),
  builtin({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', plural: 'clusterroles', namespaced: false }),
  builtin({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', namespaced: false }),
  builtin({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', plural: 'roles', namespaced: true }),
  builtin({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding', plural: 'rolebindings', namespaced: true }),
  builtin({ group: 'policy', version: 'v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', namespaced: true, shortNames: ['pdb'] }),
];

export const builtinResources: ResourceType[] = [namespaces, secrets, configMaps, coreEvents, eventsV1, leases, crdResource, selfSubjectAccessReviews, ...installObjects];

/** Namespaces that exist from the start, as on a fresh cluster. */
export const initialNamespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
