/**
 * Kubernetes `Status` failures. Handlers throw ApiError; the router turns it into the JSON body
 * real clients parse (kubectl prints `message`, or for 422 one line per cause: `field: message`).
 */

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }

  toStatus(): Record<string, unknown> {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      // Go's omitempty: details' empty strings are left out.
      ...(this.details ? { details: Object.fromEntries(Object.entries(this.details).filter(([, v]) => v !== '')) } : {}),
      code: this.code,
    };
  }
}

/** What a resource is called in messages: `physicalhosts.tide.dev` or `secrets` for the core group. */
export interface Qualified {
  group: string;
  plural: string;
  kind: string;
}

const qualifiedName = (r: Qualified) => (r.group ? `${r.plural}.${r.group}` : r.plural);

export const notFound = (r: Qualified, name: string) =>
  new ApiError(404, 'NotFound', `${qualifiedName(r)} "${name}" not found`, { name, group: r.group, kind: r.plural });

export const alreadyExists = (r: Qualified, name: string) =>
  new ApiError(409, 'AlreadyExists', `${qualifiedName(r)} "${name}" already exists`, { name, group: r.group, kind: r.plural });

export const conflict = (r: Qualified, name: string) =>
  new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedName(r)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, group: r.group, kind: r.plural },
  );

/** A delete precondition (resourceVersion or uid) that the stored object does not meet. */
export function preconditionFailed(r: Qualified, name: string, field: 'ResourceVersion' | 'UID', wanted: string, found: string): ApiError {
  const why = field === 'UID' ? 'The object might have been deleted and then recreated' : 'The object might have been modified';
  const kind = r.group ? `${r.kind}.${r.group}` : r.kind;
  return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${kind} "${name}": the ${field} in the precondition (${wanted}) does not match the ${field} in record (${found}). ${why}`, {
    name,
    group: r.group,
    kind: r.kind,
  });
}

export const badRequest = (message: string) => new ApiError(400, 'BadRequest', message);

export const gone = (message: string) => new ApiError(410, 'Expired', message);

export const unsupportedMediaType = (message: string) => new ApiError(415, 'UnsupportedMediaType', message);

export const methodNotAllowed = (message: string) => new ApiError(405, 'MethodNotAllowed', message);

export const forbidden = (r: Qualified, name: string, why: string) =>
  new ApiError(403, 'Forbidden', `${qualifiedName(r)} "${name}" is forbidden: ${why}`, { name, group: r.group, kind: r.plural });

/** 422 Invalid, worded as the real server words it so kubectl prints each `field: message`. */
export function invalid(r: Qualified, name: string, causes: StatusCause[]): ApiError {
  // The message lists each distinct error once (an aggregate dedupes), the causes keep them all.
  const list = [...new Set(causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)))];
  const joined = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
  const kind = r.group ? `${r.kind}.${r.group}` : r.kind;
  return new ApiError(422, 'Invalid', `${kind} "${name}" is invalid: ${joined}`, {
    name,
    group: r.group,
    kind: r.kind,
    causes,
  });
}

/** The field-error shapes of k8s.io/apimachinery's field.Error, by cause reason. */
export const fieldError = {
  invalid: (field: string, value: unknown, detail: string): StatusCause => ({
    reason: 'FieldValueInvalid',
    field,
    message: `Invalid value: ${formatValue(value)}: ${detail}`,
  }),
  /** How Kubernetes prints an error that omits the value (CEL rule failures). */
  invalidWithoutValue: (field: string, detail: string): StatusCause => ({ reason: 'FieldValueInvalid', field, message: `Invalid value: ${detail}` }),
  typeInvalid: (field: string, value: unknown, detail: string): StatusCause => ({
    reason: 'FieldValueTypeInvalid',
    field,
    message: `Invalid value: ${formatValue(value)}: ${detail}`,
  }),
  required: (field: string, detail = ''): StatusCause => ({
    reason: 'FieldValueRequired',
    field,
    message: detail ? `Required value: ${detail}` : 'Required value',
  }),
  notSupported: (field: string, value: unknown, allowed: unknown[]): StatusCause => ({
    reason: 'FieldValueNotSupported',
    field,
    message: `Unsupported value: ${formatValue(value)}: supported values: ${allowed.map(formatValue).join(', ')}`,
  }),
  forbidden: (field: string, detail: string): StatusCause => ({ reason: 'FieldValueForbidden', field, message: `Forbidden: ${detail}` }),
  tooLong: (field: string, max: number): StatusCause => ({
    reason: 'FieldValueTooLong',
    field,
    message: `Too long: may not be more than ${max} bytes`,
  }),
  tooMany: (field: string, count: number, max: number): StatusCause => ({
    reason: 'FieldValueTooMany',
    field,
    message: `Too many: ${count}: must have at most ${max} items`,
  }),
  duplicate: (field: string, value: unknown): StatusCause => ({
    reason: 'FieldValueDuplicate',
    field,
    message: `Duplicate value: ${formatValue(value)}`,
  }),
};

/** Go's %#v-ish rendering used in field errors: strings quoted, numbers bare, objects as JSON. */
function formatValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  return typeof value === 'object' || typeof value === 'string' ? JSON.stringify(value) : String(value);
}
