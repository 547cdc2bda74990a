/** Parses a resource URL: `/apis/<group>/<version>/[namespaces/<ns>/]<plural>[/<name>[/<sub>]]`. */

export interface ResourcePath {
  group: string;
  version: string;
  namespace?: string;
  plural: string;
  name?: string;
  subresource?: string;
  /** Legacy `/watch/` path segment. */
  watchPrefix: boolean;
}

export function parseResourcePath(pathname: string): ResourcePath | undefined {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let group: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) [group, rest] = ['', parts.slice(1)];
  else if (parts[0] === 'apis' && parts.length >= 4) [group, rest] = [parts[1]!, parts.slice(2)];
  else return undefined;
  const version = rest.shift()!;
  const watchPrefix = rest[0] === 'watch';
  if (watchPrefix) rest.shift();
  // namespaces/<ns>/<plural>… is namespaced; namespaces/<ns>[/status|/finalize] is the namespace itself.
  if (rest[0] === 'namespaces' && rest.length >= 3 && rest[2] !== 'status' && rest[2] !== 'finalize') {
    const [, namespace, plural, name, subresource] = rest;
    return { group, version, namespace, plural: plural!, name, subresource, watchPrefix };
  }
  const [plural, name, subresource] = rest;
  if (!plural) return undefined;
  return { group, version, plural, name, subresource, watchPrefix };
}
