/** The custom resources as TypeScript sees them (types derived from the schemas, never hand-kept). */
import type { ConsolidationPlanSpec, ConsolidationPlanStatus } from './consolidation-plan.ts';
import type { ConsolidationPolicySpec, ConsolidationPolicyStatus } from './consolidation-policy.ts';
import type { PhysicalHostSpec, PhysicalHostStatus } from './physical-host.ts';
import type { VirtualMachineMigrationSpec, VirtualMachineMigrationStatus } from './vm-migration.ts';
import type { VirtualMachinePlacementSpec, VirtualMachinePlacementStatus } from './vm-placement.ts';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
}

export interface Resource<Spec, Status> {
  apiVersion: 'tide.dev/v1alpha1';
  kind: string;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}

export type PhysicalHost = Resource<PhysicalHostSpec, PhysicalHostStatus> & { kind: 'PhysicalHost' };
export type VirtualMachinePlacement = Resource<VirtualMachinePlacementSpec, VirtualMachinePlacementStatus> & { kind: 'VirtualMachinePlacement' };
export type VirtualMachineMigration = Resource<VirtualMachineMigrationSpec, VirtualMachineMigrationStatus> & { kind: 'VirtualMachineMigration' };
export type ConsolidationPolicy = Resource<ConsolidationPolicySpec, ConsolidationPolicyStatus> & { kind: 'ConsolidationPolicy' };
export type ConsolidationPlan = Resource<ConsolidationPlanSpec, ConsolidationPlanStatus> & { kind: 'ConsolidationPlan' };

export type { PhysicalHostSpec, PhysicalHostStatus, PowerActionRecord, WakeAttempt } from './physical-host.ts';
export type { VirtualMachinePlacementSpec, VirtualMachinePlacementStatus, MigrationRecord } from './vm-placement.ts';
export type { VirtualMachineMigrationSpec, VirtualMachineMigrationStatus, VirtualMachineMigrationPhase } from './vm-migration.ts';
export type { ConsolidationPolicySpec, ConsolidationPolicyStatus, OffPeakWindow } from './consolidation-policy.ts';
export type { ConsolidationPlanSpec, ConsolidationPlanStatus, PlanPhase, PlannedAction, PlanPrediction } from './consolidation-plan.ts';
export type { Condition } from './schema-helpers.ts';
