/**
 * The YAML scenario format of `tide simulate --scenario FILE` (and of `tide dev`): hosts,
 * VMs with load timelines, the migration model and the policy. TypeBox gives the type and the
 * JSON schema at once; ajv checks it, and scenario.ts turns ajv's paths into file:line.
 */
import { Type, type Static } from '@sinclair/typebox';
import { StringEnum, Watts } from '../api/schema-helpers.ts';

const Name = Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$' });
const Percent = Type.Number({ minimum: 0, maximum: 100 });
const Seconds = Type.Number({ minimum: 0 });

export const HostPowerSpec = Type.Object(
  {
    idleWatts: Type.Optional(Watts()),
    peakWatts: Type.Optional(Watts()),
    /** A SPECpower model by name (see power-model.ts), e.g. "HP ProLiant ML110 G4 (Xeon 3040)". */
    specpower: Type.Optional(Type.String()),
    /** Watts at 0 %, 10 %, … 100 %. */
    table: Type.Optional(Type.Array(Watts(), { minItems: 11, maxItems: 11 })),
    offWatts: Type.Optional(Watts()),
  },
  { additionalProperties: false },
);

export const ScenarioHost = Type.Object(
  {
    name: Name,
    /** Expands into `count` hosts named name-1 … name-count. */
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    cpuCores: Type.Integer({ minimum: 1, maximum: 4096 }),
    memoryMiB: Type.Integer({ minimum: 64 }),
    power: HostPowerSpec,
    bootSeconds: Type.Optional(Seconds),
    shutdownSeconds: Type.Optional(Seconds),
    powerState: Type.Optional(StringEnum(['on', 'off'] as const)),
    standbyAllowed: Type.Optional(Type.Boolean()),
    maintenance: Type.Optional(Type.Boolean()),
    meterId: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);

export const ScenarioVm = Type.Object(
  {
    name: Name,
    host: Name,
    vcpus: Type.Integer({ minimum: 1, maximum: 1024 }),
    memoryMiB: Type.Integer({ minimum: 1 }),
    /** A constant percentage, {steps: [{atSeconds, percent}]} or {trace: FILE, intervalSeconds}. Checked by hand. */
    load: Type.Unknown(),
    pinnedHost: Type.Optional(Name),
    doNotMigrate: Type.Optional(Type.Boolean()),
    antiAffinityGroup: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);

export const ScenarioPolicy = Type.Object(
  {
    strategy: Type.Optional(StringEnum(['paper', 'lr-mmt', 'npa', 'tide'] as const)),
    overloadThresholdPercent: Type.Optional(Percent),
    consolidationThresholdPercent: Type.Optional(Percent),
    balanceThresholdPercent: Type.Optional(Percent),
    minHostsOn: Type.Optional(Type.Integer({ minimum: 0 })),
    maxMigrationsPerPlan: Type.Optional(Type.Integer({ minimum: 0 })),
    migrationCooldownSeconds: Type.Optional(Seconds),
    powerCooldownSeconds: Type.Optional(Seconds),
    consolidationAllowed: Type.Optional(Type.Boolean()),
    /** ConsolidationPolicy spec.approval for `tide dev`; the simulator itself approves every plan. */
    approval: Type.Optional(StringEnum(['Automatic', 'Manual'] as const)),
  },
  { additionalProperties: false },
);

export const ScenarioDocument = Type.Object(
  {
    name: Name,
    description: Type.Optional(Type.String()),
    /** When simulated time starts (ISO 8601); 2026-01-01T00:00:00Z by default. */
    start: Type.Optional(Type.String({ minLength: 1 })),
    durationSeconds: Type.Number({ exclusiveMinimum: 0 }),
    evaluation: Type.Optional(
      Type.Object(
        {
          firstAtSeconds: Type.Optional(Seconds),
          intervalSeconds: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
          onOverload: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
    migration: Type.Optional(
      Type.Object(
        {
          bandwidthMbps: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
          overheadSeconds: Type.Optional(Seconds),
          cpuPercent: Type.Optional(Percent),
          maxConcurrent: Type.Optional(Type.Integer({ minimum: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
    policy: Type.Optional(ScenarioPolicy),
    hosts: Type.Array(ScenarioHost, { minItems: 1 }),
    vms: Type.Optional(Type.Array(ScenarioVm)),
  },
  { additionalProperties: false },
);

export type ScenarioDocument = Static<typeof ScenarioDocument>;
export type ScenarioHost = Static<typeof ScenarioHost>;
export type ScenarioVm = Static<typeof ScenarioVm>;
export type ScenarioPolicy = Static<typeof ScenarioPolicy>;
