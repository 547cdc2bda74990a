/**
 * The `meta.k8s.io/v1 Table` format `kubectl get` asks for: the columns a resource declares
 * (a CRD's additionalPrinterColumns, or the built-in ones), one row per object.
 */
import { JSONPath } from 'jsonpath-plus';
import type { Column, KubeObject } from './types.ts';

/** k8s.io/apimachinery's duration.HumanDuration, so AGE reads as on a real cluster. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${Math.floor(days / 365)}y` : `${Math.floor(days / 365)}y${days % 365}d`;
  return `${Math.floor(days / 365)}y`;
}

const age = (timestamp: unknown, now: number) =>
  typeof timestamp === 'string' && !Number.isNaN(Date.parse(timestamp)) ? humanDuration(now - Date.parse(timestamp)) : '<unknown>';

export const nameColumn: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  priority: 0,
  cell: (o) => o.metadata.name,
};

export const ageColumn: Column = {
  name: 'Age',
  type: 'date',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  priority: 0,
  cell: (o) => o.metadata.creationTimestamp,
};

/** A column read with a CRD-style JSONPath (`.status.conditions[?(@.type=="Ready")].status`). */
export function jsonPathColumn(def: { name: string; type: string; format?: string; description?: string; priority?: number; jsonPath: string }): Column {
  const path = `$${def.jsonPath.startsWith('.') || def.jsonPath.startsWith('[') ? '' : '.'}${def.jsonPath}`;
  return {
    name: def.name,
    type: def.type as Column['type'],
    format: def.format,
    description: def.description ?? '',
    priority: def.priority ?? 0,
    cell: (obj) => {
      const found = JSONPath({ path, json: obj, wrap: true }) as unknown[];
      if (found.length === 0) return null;
      const first = found[0];
      if (found.length > 1) return found.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(',');
      return typeof first === 'object' && first !== null ? JSON.stringify(first) : first;
    },
  };
}

/** Builds the Table for a list (or a single object) the way the real server does. */
export function toTable(columns: Column[], objects: KubeObject[], listMeta: Record<string, unknown>, includeObject: string | null, now = Date.now()): Record<string, unknown> {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: columns.map((c) => ({ name: c.name, type: c.type === 'date' ? 'string' : c.type, format: c.type === 'date' ? 'date' : c.format ?? '', description: c.description ?? '', priority: c.priority })),
    rows: objects.map((obj) => ({
      cells: columns.map((c) => {
        const v = c.cell(obj);
        return c.type === 'date' ? (v == null ? null : age(v, now)) : v ?? null;
      }),
      object: rowObject(obj, includeObject),
    })),
  };
}

function rowObject(obj: KubeObject, includeObject: string | null): unknown {
  if (includeObject === 'None') return null;
  if (includeObject === 'Object') return obj;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

/** Does the Accept header ask for the Table format (kubectl get does, with JSON as fallback)? */
export const wantsTable = (accept: string | undefined) => /as=Table/.test(accept ?? '');
