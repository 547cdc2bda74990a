/**
 * JSON schema of a Snapshot, for snapshots that come from files (`tide plan --snapshot`).
 * Mirrors types.ts; the `satisfies` check below keeps the two in step.
 */
import { Type, type Static } from '@sinclair/typebox';
import { StringEnum } from '../api/schema-helpers.ts';
import type { Snapshot } from './types.ts';

const Name = Type.String({ minLength: 1 });

export const HostSnapshotSchema = Type.Object(
  {
    name: Name,
    cpuCores: Type.Number({ exclusiveMinimum: 0 }),
    memoryMiB: Type.Number({ minimum: 0 }),
    powerState: StringEnum(['on', 'off', 'booting', 'shutting-down'] as const),
    standbyAllowed: Type.Boolean(),
    canPowerOn: Type.Optional(Type.Boolean()),
    failedWakes: Type.Optional(Type.Integer({ minimum: 0 })),
    wakeFailing: Type.Optional(Type.Boolean()),
    maintenance: Type.Boolean(),
    evacuate: Type.Optional(Type.Boolean()),
    keepOff: Type.Optional(Type.Boolean()),
    cpuLoadPercent: Type.Optional(Type.Number({ minimum: 0 })),
    idleWatts: Type.Optional(Type.Number({ minimum: 0 })),
    peakWatts: Type.Optional(Type.Number({ minimum: 0 })),
    powerCurveWatts: Type.Optional(Type.Array(Type.Number({ minimum: 0 }), { minItems: 11, maxItems: 11 })),
    coreMips: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    lastPowerActionAtMs: Type.Optional(Type.Number()),
  },
  { additionalProperties: false },
);

export const VmSnapshotSchema = Type.Object(
  {
    name: Name,
    host: Name,
    vcpus: Type.Number({ exclusiveMinimum: 0 }),
    memoryMiB: Type.Number({ minimum: 0 }),
    cpuLoadPercent: Type.Number({ minimum: 0, maximum: 100 }),
    pinnedHost: Type.Optional(Name),
    doNotMigrate: Type.Boolean(),
    migrating: Type.Optional(Type.Boolean()),
    affinityGroup: Type.Optional(Type.String()),
    antiAffinityGroup: Type.Optional(Type.String()),
    priority: Type.Optional(Type.Number()),
    lastMigratedAtMs: Type.Optional(Type.Number()),
    cpuHistory: Type.Optional(Type.Array(Type.Number())),
    vcpuMips: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  },
  { additionalProperties: false },
);

export const SnapshotSchema = Type.Object(
  {
    atMs: Type.Number(),
    hosts: Type.Array(HostSnapshotSchema),
    vms: Type.Array(VmSnapshotSchema),
  },
  { additionalProperties: false },
);

export type SnapshotDocument = Static<typeof SnapshotSchema>;
// Compile-time check that the schema's type and the planner's type agree.
export const schemaMatchesType = (s: SnapshotDocument): Snapshot => s;
