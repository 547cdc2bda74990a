/**
 * CustomResourceDefinitions: checking and defaulting one as the real server does, and turning its
 * served versions into resources (with columns, scope, status subresource and a validator).
 */
import { recordUpdate } from './managed-fields.ts';
import { fieldError, type StatusCause } from './status.ts';
import { ageColumn, jsonPathColumn, nameColumn } from './tables.ts';
import type { KubeObject, ResourceType } from './types.ts';
import { CustomResourceValidator } from './validation/custom-resource.ts';
import { structuralCauses } from './validation/structural-schema.ts';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function defaultCrd(crd: KubeObject): void {
  const spec = (crd.spec ??= {});
  const names = (spec.names ??= {});
  if (names.kind) {
    names.singular ??= String(names.kind).toLowerCase();
    names.listKind ??= `${names.kind}List`;
  }
  spec.conversion ??= { strategy: 'None' };
  for (const v of spec.versions ?? []) v.served ??= true;
}

/** Field errors of a CRD (422), including CEL rules that do not compile. */
export function validateCrd(crd: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const spec = crd.spec ?? {};
  const names = spec.names ?? {};
  if (!spec.group) causes.push(fieldError.required('spec.group'));
  if (!names.plural) causes.push(fieldError.required('spec.names.plural'));
  else if (!DNS_LABEL.test(names.plural)) causes.push(fieldError.invalid('spec.names.plural', names.plural, 'a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\''));
  if (!names.kind) causes.push(fieldError.required('spec.names.kind'));
  if (spec.group && names.plural && crd.metadata.name !== `${names.plural}.${spec.group}`) {
    causes.push(fieldError.invalid('metadata.name', crd.metadata.name, 'must be spec.names.plural+"."+spec.group'));
  }
  if (spec.scope !== 'Cluster' && spec.scope !== 'Namespaced') causes.push(fieldError.notSupported('spec.scope', spec.scope, ['Cluster', 'Namespaced']));
  const versions: any[] = spec.versions ?? [];
  if (versions.length === 0) causes.push(fieldError.required('spec.versions', 'must have at least one version'));
  if (versions.length > 0 && versions.filter((v) => v.storage).length !== 1) {
    causes.push(fieldError.invalid('spec.versions', versions.map((v) => v.name).join(','), 'must have exactly one version marked as storage version'));
  }
  versions.forEach((v, i) => {
    const at = `spec.versions[${i}]`;
    if (!v.name || !DNS_LABEL.test(v.name)) causes.push(fieldError.invalid(`${at}.name`, v.name ?? '', 'a DNS-1035 label is required'));
    const schema = v.schema?.openAPIV3Schema;
    if (!schema) {
      causes.push(fieldError.required(`${at}.schema.openAPIV3Schema`, 'schemas are required'));
      return;
    }
    const structural = structuralCauses(schema, `${at}.schema.openAPIV3Schema`);
    if (structural.length) {
      causes.push(...structural);
      return;
    }
    try {
      const validator = new CustomResourceValidator(schema);
      for (const e of validator.ruleErrors) {
        causes.push(fieldError.invalid(`${at}.schema.${e.location}`, e.location.endsWith('rule') ? 'rule' : 'object', e.message));
      }
    } catch (err) {
      causes.push(fieldError.invalid(`${at}.schema.openAPIV3Schema`, 'object', `invalid schema: ${(err as Error).message}`));
    }
  });
  return causes;
}

/** A CustomResourceDefinition's struct fields that are never absent (Go zero values). */
export const CRD_ZERO = { spec: { names: {} }, status: { acceptedNames: {} } };

/** The status fields the real server's CRD controllers own: conditions keyed by type. */
const STATUS_SCHEMA = {
  type: 'object',
  properties: {
    status: {
      type: 'object',
      properties: { conditions: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'], items: { type: 'object' } } },
    },
  },
};

/**
 * Gives a created or changed CRD the status the real server's controllers give it (names
 * accepted, Established), recorded in managedFields as theirs: manager kube-apiserver, /status.
 * Here it happens at once; on a real server a moment after the write.
 */
export function establish(crd: KubeObject, old: KubeObject | undefined, now: string): void {
  const status = establishedStatus(crd, old?.status?.conditions?.[0]?.lastTransitionTime ?? now);
  // storedVersions is the create strategy's, not the controllers'.
  const before = { ...crd, status: old?.status ?? { storedVersions: status.storedVersions, conditions: [] } };
  crd.status = status;
  recordUpdate(before, crd, { manager: 'kube-apiserver', apiVersion: 'apiextensions.k8s.io/v1', now, subresource: 'status', schema: STATUS_SCHEMA, zero: CRD_ZERO });
}

/** The status a real server reports once a CRD's names are accepted and it is established. */
function establishedStatus(crd: KubeObject, now: string): Record<string, any> {
  const condition = (type: string, reason: string, message: string) => ({ type, status: 'True', lastTransitionTime: now, reason, message });
  const storage = (crd.spec.versions as any[]).find((v) => v.storage)?.name;
  const previous: string[] = crd.status?.storedVersions ?? [];
  return {
    conditions: [
      condition('NamesAccepted', 'NoConflicts', 'no conflicts found'),
      condition('Established', 'InitialNamesAccepted', 'the initial names have been accepted'),
    ],
    acceptedNames: crd.spec.names,
    storedVersions: previous.includes(storage) ? previous : [...previous, storage],
  };
}

/** One resource per served version of the CRD. */
export function resourcesFromCrd(crd: KubeObject): ResourceType[] {
  const { group, names, scope } = crd.spec;
  return (crd.spec.versions as any[])
    .filter((v) => v.served !== false)
    .map((v): ResourceType => {
      const schema = v.schema.openAPIV3Schema;
      const printer: any[] = v.additionalPrinterColumns ?? [];
      return {
        group,
        version: v.name,
        kind: names.kind,
        listKind: names.listKind ?? `${names.kind}List`,
        plural: names.plural,
        singular: names.singular ?? String(names.kind).toLowerCase(),
        shortNames: names.shortNames ?? [],
        categories: names.categories ?? [],
        namespaced: scope === 'Namespaced',
        statusSubresource: v.subresources?.status !== undefined,
        custom: true,
        tracksGeneration: true,
        storageKey: `${group}/${names.plural}`,
        // Without additionalPrinterColumns a CRD shows NAME and AGE; with them, exactly those.
        columns: printer.length ? [nameColumn, ...printer.map(jsonPathColumn)] : [nameColumn, ageColumn],
        validator: new CustomResourceValidator(schema),
        openapiSchema: schema,
      };
    });
}
