/**
 * The custom resources of API group tide.dev/v1alpha1. The TypeBox schemas in this
 * folder are the single source of truth: TypeScript types come from them (Static<>), and the
 * CRD manifests in manifests/crds/ are generated from them by `npm run gen`
 * (scripts/gen-crds.ts); a test fails when the committed manifests drift.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ConsolidationPlanSpec, ConsolidationPlanStatus } from './consolidation-plan.ts';
import { ConsolidationPolicySpec, ConsolidationPolicyStatus } from './consolidation-policy.ts';
import { PhysicalHostSpec, PhysicalHostStatus } from './physical-host.ts';
import { VirtualMachineMigrationSpec, VirtualMachineMigrationStatus } from './vm-migration.ts';
import { VirtualMachinePlacementSpec, VirtualMachinePlacementStatus } from './vm-placement.ts';

export const GROUP = 'tide.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface ResourceDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  scope: 'Cluster' | 'Namespaced';
  spec: TSchema;
  status: TSchema;
  printerColumns: PrinterColumn[];
  description: string;
}

const AGE: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

export const PHYSICAL_HOST: ResourceDefinition = {
  kind: 'PhysicalHost',
  plural: 'physicalhosts',
  singular: 'physicalhost',
  shortNames: ['ph'],
  scope: 'Cluster',
  spec: PhysicalHostSpec,
  status: PhysicalHostStatus,
  description: 'A KVM/libvirt hypervisor host that Tide observes, balances, consolidates and powers on and off.',
  printerColumns: [
    { name: 'Power', type: 'string', jsonPath: '.status.powerState', description: 'Observed power state.' },
    { name: 'Load %', type: 'number', jsonPath: '.status.cpuLoadPercent', description: 'CPU load of all cores.' },
    { name: 'Watts', type: 'number', jsonPath: '.status.watts', description: 'Latest meter reading.' },
    { name: 'VMs', type: 'integer', jsonPath: '.status.vmCount' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Maintenance', type: 'boolean', jsonPath: '.spec.maintenance', priority: 1 },
    { name: 'Address', type: 'string', jsonPath: '.spec.address', priority: 1 },
    AGE,
  ],
};

export const VIRTUAL_MACHINE_PLACEMENT: ResourceDefinition = {
  kind: 'VirtualMachinePlacement',
  plural: 'virtualmachineplacements',
  singular: 'virtualmachineplacement',
  shortNames: ['vmp'],
  scope: 'Namespaced',
  spec: VirtualMachinePlacementSpec,
  status: VirtualMachinePlacementStatus,
  description: 'A libvirt domain under Tide management: where it runs, its load, its migrations and why.',
  printerColumns: [
    { name: 'Domain', type: 'string', jsonPath: '.spec.domain' },
    { name: 'Host', type: 'string', jsonPath: '.status.host' },
    { name: 'State', type: 'string', jsonPath: '.status.state' },
    { name: 'Load %', type: 'number', jsonPath: '.status.cpuLoadPercent' },
    { name: 'Last Migration', type: 'string', jsonPath: '.status.migration.reason', priority: 1 },
    AGE,
  ],
};

/**
 * Short name `vmm`: KubeVirt's VirtualMachineInstanceMigration already holds `vmim` and `vmims`,
 * and a cluster may run both, so Tide must not take them; no well-known project uses `vmm`.
 */
export const VIRTUAL_MACHINE_MIGRATION: ResourceDefinition = {
  kind: 'VirtualMachineMigration',
  plural: 'virtualmachinemigrations',
  singular: 'virtualmachinemigration',
  shortNames: ['vmm'],
  scope: 'Namespaced',
  spec: VirtualMachineMigrationSpec,
  status: VirtualMachineMigrationStatus,
  description: 'A request to live-migrate the VM of one VirtualMachinePlacement now, to a named host or the best one; runs once, under the same rules as the moves Tide plans.',
  printerColumns: [
    { name: 'Placement', type: 'string', jsonPath: '.spec.placement' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Source', type: 'string', jsonPath: '.status.sourceHost' },
    { name: 'Target', type: 'string', jsonPath: '.status.targetHost' },
    { name: 'Reason', type: 'string', jsonPath: '.status.reason' },
    { name: 'Message', type: 'string', jsonPath: '.status.message', priority: 1 },
    AGE,
  ],
};

export const CONSOLIDATION_POLICY: ResourceDefinition = {
  kind: 'ConsolidationPolicy',
  plural: 'consolidationpolicies',
  singular: 'consolidationpolicy',
  shortNames: ['conspol'],
  scope: 'Cluster',
  spec: ConsolidationPolicySpec,
  status: ConsolidationPolicyStatus,
  description: "Tide's decision parameters: thresholds, evaluation interval, off-peak windows, limits and strategy.",
  printerColumns: [
    { name: 'Strategy', type: 'string', jsonPath: '.spec.strategy' },
    { name: 'Dry Run', type: 'boolean', jsonPath: '.spec.dryRun' },
    { name: 'Active Hosts', type: 'integer', jsonPath: '.status.activeHosts' },
    { name: 'Watts', type: 'number', jsonPath: '.status.clusterWatts' },
    { name: 'Last Evaluation', type: 'date', jsonPath: '.status.lastEvaluationTime' },
    AGE,
  ],
};

/**
 * Namespaced, in Tide's own namespace: a plan powers hosts off, so approving one is for whoever
 * may edit that namespace (a RoleBinding there delegates it, without rights on the cluster's
 * hosts), GitOps tools sync namespaced objects as they sync any application, and the operator
 * needs rights on plans in its namespace only (a Role, not a ClusterRole). Plans elsewhere are
 * never read. Short name `cplan`: `cp` would read as `kubectl cp`.
 */
export const CONSOLIDATION_PLAN: ResourceDefinition = {
  kind: 'ConsolidationPlan',
  plural: 'consolidationplans',
  singular: 'consolidationplan',
  shortNames: ['cplan'],
  scope: 'Namespaced',
  spec: ConsolidationPlanSpec,
  status: ConsolidationPlanStatus,
  description: "One decision round's proposal under a ConsolidationPolicy with approval Manual: its actions with their reasons, the predicted savings and SLA risk; carried out only once spec.approved is true and only while it still holds.",
  printerColumns: [
    { name: 'Policy', type: 'string', jsonPath: '.status.policy' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Approved', type: 'boolean', jsonPath: '.spec.approved' },
    { name: 'Watts Saved', type: 'number', jsonPath: '.status.prediction.wattsSaved', description: 'Predicted: idle watts of the hosts powered off less those powered on.' },
    { name: 'Overload Min', type: 'number', jsonPath: '.status.prediction.minutesOverloaded', description: 'Predicted SLA risk: host-minutes over Th1 in the next hour.' },
    { name: 'Hosts Over Th1', type: 'string', jsonPath: '.status.prediction.hostsOverThreshold', description: 'Predicted SLA risk: the hosts.', priority: 1 },
    { name: 'Summary', type: 'string', jsonPath: '.status.summary', priority: 1 },
    { name: 'Reason', type: 'string', jsonPath: '.status.reason' },
    AGE,
  ],
};

export const RESOURCES = [PHYSICAL_HOST, VIRTUAL_MACHINE_PLACEMENT, CONSOLIDATION_POLICY, VIRTUAL_MACHINE_MIGRATION, CONSOLIDATION_PLAN] as const;

/** The whole-object schema of a resource (what the API server validates a request body against). */
export function resourceSchema(def: ResourceDefinition): Record<string, unknown> {
  const schema = Type.Object(
    {
      apiVersion: Type.String({ description: `Versioned schema of this representation of an object: ${API_VERSION}.` }),
      kind: Type.String({ description: `Kind of the object: ${def.kind}.` }),
      metadata: Type.Object({}),
      spec: def.spec,
      status: Type.Optional({ ...def.status, description: def.status.description ?? `Observed state of the ${def.kind}, written by Tide.` }),
    },
    { description: def.description },
  );
  // TypeBox marks schemas with symbol keys; JSON round-tripping leaves the plain OpenAPI schema.
  const plain = JSON.parse(JSON.stringify(schema)) as OpenApiSchema;
  plain.required = ['spec'];
  plain.properties!.metadata = { type: 'object' };
  return optionalWhereDefaulted(plain) as Record<string, unknown>;
}

interface OpenApiSchema {
  type?: string;
  required?: string[];
  properties?: Record<string, OpenApiSchema>;
  items?: OpenApiSchema;
  additionalProperties?: OpenApiSchema | boolean;
  default?: unknown;
  [key: string]: unknown;
}

/**
 * TypeBox marks a field with a default as required, which is right for the TypeScript type
 * (the API server fills defaults in before anyone reads the object) but wrong to show users:
 * in the CRD, a field with a default is optional.
 */
function optionalWhereDefaulted(schema: OpenApiSchema): OpenApiSchema {
  if (schema.properties) {
    for (const child of Object.values(schema.properties)) optionalWhereDefaulted(child);
    if (schema.required) {
      schema.required = schema.required.filter((key) => schema.properties![key]?.default === undefined);
      if (schema.required.length === 0) delete schema.required;
    }
  }
  if (schema.items) optionalWhereDefaulted(schema.items);
  if (typeof schema.additionalProperties === 'object') optionalWhereDefaulted(schema.additionalProperties);
  return schema;
}

/**
 * TypeBox writes JSON Schema's numeric `exclusiveMinimum: 0`; a CRD speaks OpenAPI v3.0, where it
 * is `minimum: 0` plus `exclusiveMinimum: true` (a real API server rejects the numeric form).
 */
function toOpenApiV30(schema: OpenApiSchema): OpenApiSchema {
  const out: OpenApiSchema = { ...schema };
  for (const [exclusive, bound] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']] as const) {
    if (typeof out[exclusive] === 'number') Object.assign(out, { [bound]: out[exclusive], [exclusive]: true });
  }
  if (out.properties) out.properties = Object.fromEntries(Object.entries(out.properties).map(([k, v]) => [k, toOpenApiV30(v)]));
  if (out.items) out.items = toOpenApiV30(out.items);
  if (typeof out.additionalProperties === 'object') out.additionalProperties = toOpenApiV30(out.additionalProperties);
  return out;
}

/** The apiextensions.k8s.io/v1 CustomResourceDefinition for a resource. */
export function customResourceDefinition(def: ResourceDefinition): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${GROUP}`, labels: { 'app.kubernetes.io/part-of': 'tide' } },
    spec: {
      group: GROUP,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: def.shortNames,
        categories: ['tide'],
      },
      scope: def.scope,
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: toOpenApiV30(resourceSchema(def)) },
          subresources: { status: {} },
          additionalPrinterColumns: def.printerColumns,
        },
      ],
    },
  };
}

/**
 * Fills in the schema defaults a spec lacks. The API server does this on write; doing it again
 * on read keeps the controller safe with objects stored before a default was introduced.
 */
export function specWithDefaults<T>(def: ResourceDefinition, spec: unknown): T {
  return Value.Default(def.spec, structuredClone(spec ?? {})) as T;
}
