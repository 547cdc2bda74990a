/**
 * Decoding of the protobuf request bodies kubectl's typed clients send for built-ins (`kubectl
 * create namespace|secret|configmap` and `kubectl auth can-i` POST `application/vnd.kubernetes.protobuf`
 * and do not fall back to JSON). Only the messages those commands write are described here; replies stay JSON,
 * which the clients accept. Wire decoding is @bufbuild/protobuf's BinaryReader.
 */
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { badRequest, unsupportedMediaType } from './status.ts';

type FieldKind = 'string' | 'bytes' | 'raw' | 'bool' | 'int64' | 'int32' | 'time' | MessageSpec;

interface FieldSpec {
  name: string;
  kind: FieldKind;
  repeated?: boolean;
  /** map<string, string|bytes>, encoded as repeated key/value entries. */
  map?: 'string' | 'bytes';
}

type MessageSpec = { [fieldNumber: number]: FieldSpec };

const OwnerReference: MessageSpec = {
  1: { name: 'kind', kind: 'string' },
  3: { name: 'name', kind: 'string' },
  4: { name: 'uid', kind: 'string' },
  5: { name: 'apiVersion', kind: 'string' },
  6: { name: 'controller', kind: 'bool' },
  7: { name: 'blockOwnerDeletion', kind: 'bool' },
};

const ObjectMeta: MessageSpec = {
  1: { name: 'name', kind: 'string' },
  2: { name: 'generateName', kind: 'string' },
  3: { name: 'namespace', kind: 'string' },
  5: { name: 'uid', kind: 'string' },
  6: { name: 'resourceVersion', kind: 'string' },
  7: { name: 'generation', kind: 'int64' },
  8: { name: 'creationTimestamp', kind: 'time' },
  9: { name: 'deletionTimestamp', kind: 'time' },
  10: { name: 'deletionGracePeriodSeconds', kind: 'int64' },
  11: { name: 'labels', kind: 'string', map: 'string' },
  12: { name: 'annotations', kind: 'string', map: 'string' },
  13: { name: 'ownerReferences', kind: OwnerReference, repeated: true },
  14: { name: 'finalizers', kind: 'string', repeated: true },
};

const BODIES: Record<string, MessageSpec> = {
  Secret: {
    1: { name: 'metadata', kind: ObjectMeta },
    2: { name: 'data', kind: 'bytes', map: 'bytes' },
    3: { name: 'type', kind: 'string' },
    4: { name: 'stringData', kind: 'string', map: 'string' },
    5: { name: 'immutable', kind: 'bool' },
  },
  ConfigMap: {
    1: { name: 'metadata', kind: ObjectMeta },
    2: { name: 'data', kind: 'string', map: 'string' },
    3: { name: 'binaryData', kind: 'bytes', map: 'bytes' },
    4: { name: 'immutable', kind: 'bool' },
  },
  DeleteOptions: {
    1: { name: 'gracePeriodSeconds', kind: 'int64' },
    2: { name: 'preconditions', kind: { 1: { name: 'uid', kind: 'string' }, 2: { name: 'resourceVersion', kind: 'string' } } },
    3: { name: 'orphanDependents', kind: 'bool' },
    4: { name: 'propagationPolicy', kind: 'string' },
    5: { name: 'dryRun', kind: 'string', repeated: true },
  },
  SelfSubjectAccessReview: {
    1: { name: 'metadata', kind: ObjectMeta },
    2: {
      name: 'spec',
      kind: {
        1: {
          name: 'resourceAttributes',
          kind: Object.fromEntries(['namespace', 'verb', 'group', 'version', 'resource', 'subresource', 'name'].map((name, i) => [i + 1, { name, kind: 'string' }])),
        },
        2: { name: 'nonResourceAttributes', kind: { 1: { name: 'path', kind: 'string' }, 2: { name: 'verb', kind: 'string' } } },
      },
    },
  },
  Namespace: {
    1: { name: 'metadata', kind: ObjectMeta },
    2: { name: 'spec', kind: { 1: { name: 'finalizers', kind: 'string', repeated: true } } },
  },
};

const Unknown: MessageSpec = {
  1: { name: 'typeMeta', kind: { 1: { name: 'apiVersion', kind: 'string' }, 2: { name: 'kind', kind: 'string' } } },
  2: { name: 'raw', kind: 'raw' },
  3: { name: 'contentEncoding', kind: 'string' },
  4: { name: 'contentType', kind: 'string' },
};

const MAGIC = Buffer.from('k8s\0', 'latin1');

function readScalar(reader: BinaryReader, kind: Exclude<FieldKind, MessageSpec>): unknown {
  switch (kind) {
    case 'string':
      return reader.string();
    case 'bytes':
      return Buffer.from(reader.bytes()).toString('base64');
    case 'raw':
      return reader.bytes();
    case 'bool':
      return reader.bool();
    case 'int64':
      return Number(reader.int64());
    case 'int32':
      return reader.int32();
    case 'time': {
      const t = decodeMessage(reader.bytes(), { 1: { name: 'seconds', kind: 'int64' }, 2: { name: 'nanos', kind: 'int32' } });
      return new Date(Number(t.seconds ?? 0) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    }
  }
}

function decodeMessage(bytes: Uint8Array, spec: MessageSpec): Record<string, any> {
  const reader = new BinaryReader(bytes);
  const out: Record<string, any> = {};
  while (reader.pos < reader.len) {
    const [fieldNo, wireType] = reader.tag();
    const field = spec[fieldNo];
    if (!field) {
      reader.skip(wireType);
      continue;
    }
    if (field.map) {
      const entry = decodeMessage(reader.bytes(), { 1: { name: 'key', kind: 'string' }, 2: { name: 'value', kind: field.map } });
      (out[field.name] ??= {})[entry.key ?? ''] = entry.value ?? '';
      continue;
    }
    const value = typeof field.kind === 'object' ? decodeMessage(reader.bytes(), field.kind) : readScalar(reader, field.kind);
    if (field.repeated) (out[field.name] ??= []).push(value);
    // Go's protobuf writes empty strings out; in JSON they are absent (and defaults apply).
    else if (value !== '') out[field.name] = value;
  }
  return out;
}

/** Decodes a `k8s\0`-prefixed protobuf body into the JSON object the rest of the server handles. */
export function decodeProtobufBody(body: Buffer): Record<string, any> {
  if (!body.subarray(0, 4).equals(MAGIC)) throw unsupportedMediaType('protobuf body without the k8s envelope');
  const envelope = decoded(body.subarray(4), Unknown, 'its envelope');
  const kind = envelope.typeMeta?.kind as string | undefined;
  // Own keys only: a kind named "constructor" must not find Object.prototype's.
  const spec = kind && Object.hasOwn(BODIES, kind) ? BODIES[kind] : undefined;
  if (!spec) {
    throw unsupportedMediaType(`protobuf bodies are only understood for ${Object.keys(BODIES).join(', ')} here (got ${kind ?? 'no kind'}); send JSON`);
  }
  const obj = decoded(envelope.raw ?? new Uint8Array(), spec, `the ${kind} in it`);
  return { apiVersion: envelope.typeMeta.apiVersion, kind, ...obj, ...(kind === 'DeleteOptions' ? {} : { metadata: obj.metadata ?? {} }) };
}

/** decodeMessage, with damaged bytes (a bad tag, a length past the end) a 400 saying so rather than a 500. */
function decoded(bytes: Uint8Array, spec: MessageSpec, what: string): Record<string, any> {
  try {
    return decodeMessage(bytes, spec);
  } catch (err) {
    throw badRequest(`the protobuf body cannot be decoded (${what}): ${(err as Error).message}`);
  }
}
