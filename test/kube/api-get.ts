/**
 * `kubectl get -o json ARGS` answered in this process: the same JSON, read over the API.
 *
 * Why: the operator tests poll what the server holds every 250 ms until the operator has acted,
 * and a kubectl process per poll cost about 0.15 CPU-s (plus the server's side) — in the
 * host-removal file, 223 kubectl runs took 39 of its 97 CPU-s, on a 2-core machine that runs
 * three such files at once. What a user does (apply, patch, delete, wait, describe, the printer
 * columns) still goes through kubectl; only these reads do not.
 *
 * Takes what those reads use: a resource as kubectl names it (plural, singular, kind or short
 * name, optionally `.group`), an optional object name, `-n NS`, `-A`, `-l SELECTOR`. A missing
 * object throws as kubectl exits 1, with the server's reason.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { RawClient, type RawRequest, type RawResponse } from './raw-client.ts';

interface ApiResource {
  path: string;
  namespaced: boolean;
  kind: string;
  apiVersion: string;
  names: string[];
}

export type GetJson = <T = any>(...args: string[]) => Promise<T>;

export async function apiGetJson(kubeconfigPath: string): Promise<GetJson> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const client = await RawClient.fromKubeConfig(kc);
  const defaultNamespace = kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  let resources: ApiResource[] | undefined;

  const lookup = async (name: string, refresh: boolean) => {
    if (!resources || refresh) resources = await discover(client);
    const [word, ...group] = name.toLowerCase().split('.');
    const wanted = group.join('.');
    return resources.find((r) => r.names.includes(word!) && (!wanted || r.apiVersion.startsWith(`${wanted}/`)));
  };

  return async (...args) => {
    const { positional, namespace, allNamespaces, selector } = parseArgs(args);
    const [resourceName, objectName] = positional;
    if (!resourceName) throw new Error(`getJson(${args.join(' ')}): no resource named`);
    // A CRD installed after the last discovery is found by discovering again.
    const resource = (await lookup(resourceName, false)) ?? (await lookup(resourceName, true));
    if (!resource) throw new Error(`error: the server doesn't have a resource type "${resourceName}"`);
    const ns = resource.namespaced && !(allNamespaces && !objectName) ? `/namespaces/${namespace ?? defaultNamespace}` : '';
    const path = `${resource.path}${ns}/${resource.names[0]}${objectName ? `/${objectName}` : ''}`;
    const res = await sendAsKubectl(client, { method: 'GET', path, query: selector ? { labelSelector: selector } : {} });
    if (res.code !== 200) throw new Error(`Error from server (${res.body?.reason ?? res.code}): ${res.body?.message ?? JSON.stringify(res.body)}`);
    if (objectName) return res.body;
    // kubectl prints a List whose items carry their kind and apiVersion (a built-in list's do not).
    const items = res.body.items.map((o: any) => ({ apiVersion: resource.apiVersion, kind: resource.kind, ...o }));
    return { apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } };
  };
}

function parseArgs(args: string[]) {
  const positional: string[] = [];
  let namespace: string | undefined;
  let selector: string | undefined;
  let allNamespaces = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-n' || a === '--namespace') namespace = args[++i];
    else if (a.startsWith('--namespace=')) namespace = a.slice('--namespace='.length);
    else if (a === '-A' || a === '--all-namespaces') allNamespaces = true;
    else if (a === '-l' || a === '--selector') selector = args[++i];
    else if (a.startsWith('-')) throw new Error(`getJson: flag ${a} is not supported here (use kubectl)`);
    else positional.push(a);
  }
  return { positional, namespace, allNamespaces, selector };
}

/** Every top-level resource the server serves, the core group first (as kubectl resolves names). */
async function discover(client: RawClient): Promise<ApiResource[]> {
  const list = async (path: string, apiVersion: string): Promise<ApiResource[]> => {
    const res = await sendAsKubectl(client, { method: 'GET', path });
    if (res.code !== 200) throw new Error(`discovery GET ${path}: ${res.code}`);
    return res.body.resources
      .filter((r: any) => !r.name.includes('/'))
      .map((r: any) => ({
        path,
        namespaced: r.namespaced,
        kind: r.kind,
        apiVersion,
        names: [r.name, r.singularName || r.kind.toLowerCase(), r.kind.toLowerCase(), ...(r.shortNames ?? [])],
      }));
  };
  const groups = (await sendAsKubectl(client, { method: 'GET', path: '/apis' })).body.groups as any[];
  const all = [await list('/api/v1', 'v1')];
  for (const g of groups) all.push(await list(`/apis/${g.preferredVersion.groupVersion}`, g.preferredVersion.groupVersion));
  return all.flat();
}

/**
 * A request retried while the server answers 429, after the Retry-After it names, as client-go
 * (so kubectl) does: a real kube-apiserver answers 429 "storage is (re)initializing" for a CRD's
 * resources for a moment after the CRD is Established.
 */
export async function sendAsKubectl(client: RawClient, req: RawRequest): Promise<RawResponse> {
  for (let attempt = 1; ; attempt++) {
    const res = await client.send(req);
    if (res.code !== 429 || attempt === 10) return res;
    await new Promise((resolve) => setTimeout(resolve, 1000 * (Number(res.body?.details?.retryAfterSeconds) || 1)));
  }
}
