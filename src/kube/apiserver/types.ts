/** The shapes the server's parts share: objects as JSON, and what it knows about each resource. */
import type { ObjectMeta as ApiObjectMeta } from '../../api/types.ts';

export type KubeObject = Record<string, any> & {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
};

/** Tide's ObjectMeta, loosened: a request may omit the name (generateName) and carry any field. */
export type ObjectMeta = Partial<ApiObjectMeta> & {
  generateName?: string;
  deletionGracePeriodSeconds?: number;
  [key: string]: unknown;
};

/** One column of `kubectl get`: the Table format's column definition plus how to fill its cell. */
export interface Column {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format?: string;
  description?: string;
  priority: number;
  cell(obj: KubeObject): unknown;
}

/** Validates and defaults one custom resource; see validation/. */
export interface ObjectValidator {
  /** Prunes unknown fields (returned as dotted paths) and applies schema defaults, in place. */
  pruneAndDefault(obj: KubeObject): string[];
  /** Schema and CEL checks; returns field causes (empty when valid). `prior`: causes already found (metadata). */
  validate(obj: KubeObject, old?: KubeObject, prior?: import('./status.ts').StatusCause[]): import('./status.ts').StatusCause[];
}

/** One served group/version/resource. All versions of one resource share `storageKey`. */
export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  namespaced: boolean;
  statusSubresource: boolean;
  /** Custom resources: generation bumps on spec changes, updates need a resourceVersion, SMP is refused. */
  custom: boolean;
  /** metadata.generation counts spec changes (custom resources, CRDs). */
  tracksGeneration: boolean;
  storageKey: string;
  columns: Column[];
  validator?: ObjectValidator;
  /** Converts a stored object to this version's shape (and back), e.g. events.k8s.io/v1 ↔ v1 Event. */
  fromStorage?(obj: KubeObject): KubeObject;
  toStorage?(obj: KubeObject): KubeObject;
  /** Built-in normalisation and defaults before storing (e.g. Secret stringData → data); its creator owns what it sets. */
  normalize?(obj: KubeObject): void;
  /** What the real server's create strategy sets after managedFields are recorded (owned by nobody). */
  prepareForCreate?(obj: KubeObject): void;
  /**
   * The struct fields a typed built-in always has (Go zero values, e.g. a Lease's `spec`): they
   * are never "added", so a creator's managedFields have no `.` for them, as on a real server.
   */
  zero?: Record<string, unknown>;
  /** Built-in validation (name rules aside). */
  validateBuiltin?(obj: KubeObject): import('./status.ts').StatusCause[];
  /**
   * Dotted paths of metav1.MicroTime fields. A real server decodes them with Go's RFC3339Micro
   * layout, which needs exactly six fractional digits: `new Date()` from client-node (three) is a
   * 400 there, so it is one here too (client-node's V1MicroTime writes six).
   */
  microTimeFields?: string[];
  /**
   * A review resource (SelfSubjectAccessReview): create-only, never stored; answers with the
   * reviewed request's fate under the server's authorizer.
   */
  review?: (body: KubeObject, allowed: (request: import('./access.ts').ResourceRequest) => boolean) => KubeObject;
  /** Field selector labels beyond metadata.name / metadata.namespace (e.g. Events' involvedObject.name). */
  fieldLabels?: Record<string, (obj: KubeObject) => string>;
  /** A schema for /openapi/v3 (custom resources: the CRD's openAPIV3Schema). */
  openapiSchema?: Record<string, unknown>;
}

export const apiVersionOf = (r: { group: string; version: string }) => (r.group ? `${r.group}/${r.version}` : r.version);
