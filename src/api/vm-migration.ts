/**
 * VirtualMachineMigration: a user's request to live-migrate one VM now, as KubeVirt's
 * VirtualMachineInstanceMigration is. It runs once: a finished one is history, never re-run.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Conditions, StringEnum, withCel } from './schema-helpers.ts';

/** Object names as Kubernetes allows them (DNS subdomain). */
const OBJECT_NAME = '^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$';

export const VirtualMachineMigrationSpec = withCel(
  Type.Object(
    {
      placement: Type.String({ pattern: OBJECT_NAME, description: 'Name of the VirtualMachinePlacement (in this namespace) whose VM is to move.' }),
      targetHost: Type.Optional(
        Type.String({ pattern: OBJECT_NAME, description: 'PhysicalHost to move the VM to. Omitted: Tide picks the least loaded host that can take it.' }),
      ),
    },
    { description: 'Which VM to move, and where. Cannot change once created: create another VirtualMachineMigration instead.' },
  ),
  [{ rule: 'self == oldSelf', message: 'spec is immutable: create a new VirtualMachineMigration instead' }],
);

export const VirtualMachineMigrationPhase = StringEnum(['Pending', 'Running', 'Succeeded', 'Failed'] as const, {
  description: 'Pending: accepted, waiting (for a policy, a migration slot, the VM to be free); Running: the live migration is under way; Succeeded / Failed: finished, never re-run.',
});

export const VirtualMachineMigrationStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0, description: 'metadata.generation this status was written for.' })),
  phase: Type.Optional(VirtualMachineMigrationPhase),
  reason: Type.Optional(Type.String({ description: 'Machine-readable reason for the phase (e.g. WaitingForSlot, PlacementNotFound, NoRoom, Migrated).' })),
  message: Type.Optional(Type.String({ description: 'Why, in one sentence with the names and numbers.' })),
  domain: Type.Optional(Type.String({ description: 'libvirt domain of the placement, as it was when the migration was decided.' })),
  sourceHost: Type.Optional(Type.String({ description: 'PhysicalHost the VM ran on when the migration started.' })),
  targetHost: Type.Optional(Type.String({ description: 'PhysicalHost the VM is moved to: spec.targetHost, or the one Tide picked.' })),
  migrationId: Type.Optional(Type.String({ description: "Id of the migration record in the placement's status.migration (and of its Events and history record)." })),
  startedAt: Type.Optional(Type.String({ format: 'date-time', description: 'When the live migration started.' })),
  completedAt: Type.Optional(Type.String({ format: 'date-time', description: 'When the migration finished (or was refused).' })),
  durationSeconds: Type.Optional(Type.Number({ minimum: 0, description: 'How long the live migration took.' })),
  conditions: Type.Optional(Conditions),
}, { description: 'What became of the request; written by Tide only.' });

export type VirtualMachineMigrationSpec = Static<typeof VirtualMachineMigrationSpec>;
export type VirtualMachineMigrationStatus = Static<typeof VirtualMachineMigrationStatus>;
export type VirtualMachineMigrationPhase = Static<typeof VirtualMachineMigrationPhase>;
