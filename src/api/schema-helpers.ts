/**
 * Small builders on top of TypeBox that keep the generated schemas *structural* in the
 * Kubernetes sense (one `type` per node, no anyOf of consts), so the same object serves as
 * the TypeScript type, the CRD's openAPIV3Schema and the validator's schema.
 */
import { Type, type TSchema, type SchemaOptions, type Static } from '@sinclair/typebox';

/** A string restricted to a fixed set of values, typed as their union. */
export function StringEnum<const T extends readonly string[]>(values: T, options: SchemaOptions = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/**
 * One host's draw in watts, in a PhysicalHost's spec and a scenario alike: a bound far above any
 * server's (a whole rack draws tens of kW) that keeps every energy sum finite.
 */
export function Watts(options: SchemaOptions = {}) {
  return Type.Number({ minimum: 0, maximum: 100_000, ...options });
}

/** A Go-style duration such as `10m`, `90s` or `1h30m` (see parseDuration). */
export function Duration(options: SchemaOptions = {}) {
  return Type.String({ pattern: '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$', ...options });
}

/** A CEL rule evaluated by the API server (x-kubernetes-validations). */
export interface CelRule {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

export function withCel<T extends TSchema>(schema: T, rules: CelRule[]): T {
  return { ...schema, 'x-kubernetes-validations': rules };
}

/**
 * Reference to a Secret in Tide's own namespace. The namespace may be written out (older
 * manifests do), but Tide refuses any other (src/controller/credentials.ts): a CEL rule cannot
 * know where Tide runs.
 */
export function SecretReference(description: string) {
  return Type.Object(
    {
      name: Type.String({ minLength: 1, maxLength: 253, description: 'Name of the Secret.' }),
      namespace: Type.Optional(
        Type.String({
          minLength: 1,
          maxLength: 63,
          description: "Namespace of the Secret; must be Tide's own (tide-system unless installed elsewhere), which is also what an omitted namespace means. Tide refuses a Secret in any other namespace: the host's Reachable condition turns False with reason SecretOutsideNamespace and Tide neither contacts nor powers it.",
        }),
      ),
    },
    { description },
  );
}

/** A status condition, as metav1.Condition defines it. */
export const Condition = Type.Object({
  type: Type.String({ maxLength: 316, pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$', description: 'Kind of condition, in CamelCase (Ready, Reachable …).' }),
  status: StringEnum(['True', 'False', 'Unknown'] as const, { description: 'True, False or Unknown.' }),
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0, description: 'metadata.generation of the object the condition was set for.' })),
  lastTransitionTime: Type.String({ format: 'date-time', description: 'When the status last changed.' }),
  reason: Type.String({ minLength: 1, maxLength: 1024, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$', description: 'Machine-readable reason for the status, in CamelCase.' }),
  message: Type.String({ maxLength: 32768, description: 'Human-readable details.' }),
});
export type Condition = Static<typeof Condition>;

export const Conditions = Type.Array(Condition, {
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
  description: 'Conditions in the Kubernetes API convention (Ready, Reachable, …).',
});

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Duration string into milliseconds; throws with the offending text otherwise. */
export function parseDuration(text: string): number {
  const parts = [...text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new Error(`invalid duration '${text}': expected e.g. 90s, 10m, 1h30m`);
  }
  return parts.reduce((ms, p) => ms + Number(p[1]) * DURATION_UNITS_MS[p[2]!]!, 0);
}

/** A string→string map (labels), written the structural way (additionalProperties, not patternProperties). */
export function StringMap(options: SchemaOptions = {}) {
  return Type.Unsafe<Record<string, string>>({ type: 'object', additionalProperties: { type: 'string' }, ...options });
}
