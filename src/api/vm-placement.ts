/** VirtualMachinePlacement: one libvirt domain that Tide manages (may migrate) and reports on. */
import { Type, type Static } from '@sinclair/typebox';
import { Conditions, StringEnum } from './schema-helpers.ts';

/**
 * libvirt domain names Tide accepts. Deliberately narrower than libvirt's own rules: the name
 * travels to virsh on remote hosts, so it is validated here and quoted again there.
 */
export const DOMAIN_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$';
const GROUP_NAME = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';

export const VirtualMachinePlacementSpec = Type.Object(
  {
    domain: Type.String({ pattern: DOMAIN_NAME_PATTERN, description: 'libvirt domain name of the VM.' }),
    pinnedHost: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: 'PhysicalHost the VM must stay on; a pinned VM is never moved away from it.' })),
    doNotMigrate: Type.Boolean({ default: false, description: 'Never live-migrate this VM (its host then cannot be emptied).' }),
    affinityGroup: Type.Optional(Type.String({ pattern: GROUP_NAME, description: 'Reserved: VMs of one affinity group should stay together. Recorded, not yet honoured by the planner (anti-affinity is).' })),
    antiAffinityGroup: Type.Optional(Type.String({ pattern: GROUP_NAME, description: 'VMs of one anti-affinity group are never placed on the same host by Tide.' })),
    priority: Type.Integer({ default: 0, minimum: -1000, maximum: 1000, description: 'Higher-priority VMs are moved last.' }),
  },
  { description: 'A VM under Tide management.' },
);

export const MigrationPhase = StringEnum(['Pending', 'Running', 'Succeeded', 'Failed'] as const);

/** A migration Tide decided on, recorded before it runs so a restarted operator can finish the story. */
export const MigrationRecord = Type.Object({
  id: Type.String({ description: 'Unique id of the migration, shared with its Event and history record.' }),
  phase: { ...MigrationPhase, description: 'Pending (recorded, not yet started), Running, Succeeded or Failed.' },
  from: Type.String({ description: 'PhysicalHost the VM left.' }),
  to: Type.String({ description: 'PhysicalHost the VM went to.' }),
  reason: Type.String({ description: 'Machine-readable reason from the planner (Balance, Consolidate …).' }),
  message: Type.String({ description: 'Why, with the numbers that drove the decision.' }),
  startedAt: Type.String({ format: 'date-time', description: 'When the migration was recorded.' }),
  completedAt: Type.Optional(Type.String({ format: 'date-time', description: 'When it succeeded or failed.' })),
  durationSeconds: Type.Optional(Type.Number({ minimum: 0, description: 'How long it took, in seconds.' })),
  progressPercent: Type.Optional(Type.Number({ minimum: 0, maximum: 100, description: 'Share of memory copied so far, while it runs.' })),
  error: Type.Optional(Type.String({ description: 'Why it failed.' })),
  requestedBy: Type.Optional(Type.String({ description: 'uid of the VirtualMachineMigration that asked for this migration; absent when Tide decided it.' })),
});

export const VirtualMachinePlacementStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0, description: 'metadata.generation of the spec this status was written for.' })),
  host: Type.Optional(Type.String({ description: 'PhysicalHost the domain was last observed running on.' })),
  state: Type.Optional(StringEnum(['Running', 'Paused', 'Stopped', 'Migrating', 'NotFound', 'Unknown'] as const, { description: 'State of the domain: Running, Paused, Stopped, Migrating, NotFound (on no host Tide governs) or Unknown (a host that may run it cannot be observed).' })),
  vcpus: Type.Optional(Type.Integer({ minimum: 0, description: 'vCPUs of the domain.' })),
  memoryMiB: Type.Optional(Type.Integer({ minimum: 0, description: 'Memory of the domain, in MiB.' })),
  cpuLoadPercent: Type.Optional(Type.Number({ minimum: 0, description: "CPU load, % of the VM's own vCPUs." })),
  lastObservedTime: Type.Optional(Type.String({ format: 'date-time', description: 'When Tide last saw the domain.' })),
  migration: Type.Optional({ ...MigrationRecord, description: 'The current migration while it runs, the last one afterwards.' }),
  migrationCount: Type.Optional(Type.Integer({ minimum: 0, description: 'Migrations Tide has carried out for this VM.' })),
  conditions: Type.Optional(Conditions),
});

export type VirtualMachinePlacementSpec = Static<typeof VirtualMachinePlacementSpec>;
export type VirtualMachinePlacementStatus = Static<typeof VirtualMachinePlacementStatus>;
export type MigrationRecord = Static<typeof MigrationRecord>;
