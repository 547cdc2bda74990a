/** Object metadata rules the server enforces on every resource (names, finalizers, server fields). */
import { randomBytes } from 'node:crypto';
import { fieldError, type StatusCause } from './status.ts';
import type { KubeObject } from './types.ts';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function nameCauses(obj: KubeObject, label: boolean): StatusCause[] {
  const name = obj.metadata.name;
  if (!name) return [fieldError.required('metadata.name', 'name or generateName is required')];
  if (label && (name.length > 63 || !DNS_LABEL.test(name))) {
    return [fieldError.invalid('metadata.name', name, `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`)];
  }
  if (!label && (name.length > 253 || !DNS_SUBDOMAIN.test(name))) {
    return [fieldError.invalid('metadata.name', name, `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`)];
  }
  return [];
}

const MAX_ANNOTATION_BYTES = 256 * 1024;
const NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Why a label or annotation key is not a qualified name (`[prefix/]name`), or undefined. */
function qualifiedNameProblem(key: string): string | undefined {
  const parts = key.split('/');
  const name = parts.pop()!;
  const prefix = parts.join('/');
  if (parts.length > 1) return "a qualified name must consist of an optional DNS subdomain prefix and '/' and a name";
  if (parts.length === 1 && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return 'prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\'';
  if (name.length === 0 || name.length > 63) return 'name part must be no more than 63 characters and not empty';
  if (!NAME_PART.test(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
  }
  return undefined;
}

/** Label keys and values, and annotation keys, as the real server checks them. */
export function mapCauses(obj: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  for (const field of ['labels', 'annotations'] as const) {
    for (const [k, v] of Object.entries(obj.metadata[field] ?? {})) {
      const keyProblem = qualifiedNameProblem(k);
      if (keyProblem) causes.push(fieldError.invalid(`metadata.${field}`, k, keyProblem));
      if (typeof v !== 'string') causes.push(fieldError.invalid(`metadata.${field}`, v, `${field} values must be strings (key ${JSON.stringify(k)})`));
      else if (field === 'labels' && (v.length > 63 || !LABEL_VALUE.test(v))) {
        causes.push(fieldError.invalid('metadata.labels', v, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"));
      }
    }
  }
  // A real server caps all annotations together at 256 KiB: client-side apply of a large CRD hits
  // this through kubectl.kubernetes.io/last-applied-configuration.
  const annotationBytes = Object.entries(obj.metadata.annotations ?? {}).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(String(v)), 0);
  if (annotationBytes > MAX_ANNOTATION_BYTES) {
    causes.push({ reason: 'FieldValueTooLong', field: 'metadata.annotations', message: `Too long: may not be more than ${MAX_ANNOTATION_BYTES} bytes` });
  }
  return causes;
}

/** `generateName` plus five random characters, as the real server names such objects. */
export function generatedName(prefix: string): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return prefix + [...randomBytes(5)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** Fields only the server sets: copied from the stored object over whatever a client sent. */
export function keepServerFields(next: KubeObject, old: KubeObject): void {
  for (const key of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation', 'namespace'] as const) {
    if (old.metadata[key] === undefined) delete next.metadata[key];
    else (next.metadata as Record<string, unknown>)[key] = old.metadata[key];
  }
}

/** The object without metadata (and without status when that is a subresource), to compare specs. */
export function specPart(obj: KubeObject, withoutStatus: boolean): Record<string, unknown> {
  const { metadata: _m, status, ...rest } = obj;
  return withoutStatus ? rest : { ...rest, status };
}
