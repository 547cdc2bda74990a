/**
 * What every rendering of Tide (kustomize, the chart with any values) must satisfy, as functions
 * that return the problems they find, so that a failing test says all that is wrong at once.
 */
import type { PermissionRule } from '../../src/controller/permissions.ts';
import type { K8sObject } from './render.ts';

/** A role's rules as a set of "group resource verb" grants, so that order and grouping do not matter. */
export function grants(rules: PermissionRule[]): string[] {
  const out = new Set<string>();
  for (const r of rules) for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) out.add(`${g || 'core'} ${res} ${v}`);
  return [...out].sort();
}

/** Rules of a rendered ClusterRole, refusing what permissions.ts never uses (names, URLs, wildcards). */
export function clusterRoleRules(role: K8sObject): PermissionRule[] {
  const rules = (role.rules ?? []) as Array<PermissionRule & { resourceNames?: unknown; nonResourceURLs?: unknown }>;
  for (const r of rules) {
    if (r.resourceNames || r.nonResourceURLs) throw new Error(`ClusterRole ${role.metadata.name}: resourceNames/nonResourceURLs are not in permissions.ts`);
    if ([...r.apiGroups, ...r.resources, ...r.verbs].includes('*')) throw new Error(`ClusterRole ${role.metadata.name}: wildcard in ${JSON.stringify(r)}`);
  }
  return rules;
}

type PodSpec = Record<string, any>;
type Container = Record<string, any>;

export const podSpecOf = (deployment: K8sObject): PodSpec => (deployment.spec as any).template.spec;

/**
 * Violations of the Pod Security Standard "restricted" profile (kubernetes.io/docs/concepts/
 * security/pod-security-standards) that a pod spec can show on its own.
 */
export function restrictedViolations(pod: PodSpec): string[] {
  const problems: string[] = [];
  const podSc = pod.securityContext ?? {};
  for (const key of ['hostNetwork', 'hostPID', 'hostIPC']) if (pod[key]) problems.push(`${key} is set`);
  for (const v of pod.volumes ?? []) if (v.hostPath) problems.push(`volume ${v.name} is a hostPath`);
  for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])] as Container[]) {
    const sc = c.securityContext ?? {};
    const at = `container ${c.name}`;
    if (sc.privileged) problems.push(`${at} is privileged`);
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${at}: allowPrivilegeEscalation is not false`);
    if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) problems.push(`${at}: runAsNonRoot is not true`);
    if ((sc.runAsUser ?? podSc.runAsUser) === 0) problems.push(`${at}: runAsUser is 0`);
    const seccomp = (sc.seccompProfile ?? podSc.seccompProfile)?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') problems.push(`${at}: seccompProfile is ${seccomp ?? 'unset'}`);
    const caps = sc.capabilities ?? {};
    if (!(caps.drop ?? []).includes('ALL')) problems.push(`${at}: capabilities do not drop ALL`);
    for (const add of caps.add ?? []) if (add !== 'NET_BIND_SERVICE') problems.push(`${at}: adds capability ${add}`);
    for (const p of c.ports ?? []) if (p.hostPort) problems.push(`${at}: hostPort ${p.hostPort}`);
  }
  return problems;
}

/** What Tide asks of its own containers beyond "restricted": read-only root, resources, probes on real ports. */
export function containerHygiene(pod: PodSpec): string[] {
  const problems: string[] = [];
  const mounts = new Set((pod.volumes ?? []).map((v: any) => v.name));
  for (const c of pod.containers as Container[]) {
    const at = `container ${c.name}`;
    if (c.securityContext?.readOnlyRootFilesystem !== true) problems.push(`${at}: root filesystem is writable`);
    for (const kind of ['requests', 'limits']) for (const r of ['cpu', 'memory']) if (!c.resources?.[kind]?.[r]) problems.push(`${at}: no ${kind}.${r}`);
    const tmp = (c.volumeMounts ?? []).find((m: any) => m.mountPath === '/tmp');
    const tmpVolume = (pod.volumes ?? []).find((v: any) => v.name === tmp?.name);
    if (!tmpVolume?.emptyDir) problems.push(`${at}: /tmp is not a writable emptyDir`);
    for (const m of c.volumeMounts ?? []) if (!mounts.has(m.name)) problems.push(`${at}: mounts undeclared volume ${m.name}`);
    // With a read-only root, every directory the program writes to must be a mounted volume.
    for (const e of c.env ?? []) {
      if (!e.name.endsWith('_DIR') || !e.value) continue;
      if (!(c.volumeMounts ?? []).some((m: any) => e.value === m.mountPath || e.value.startsWith(`${m.mountPath}/`))) problems.push(`${at}: ${e.name}=${e.value} is on the read-only root`);
    }
    const portNames = new Set((c.ports ?? []).map((p: any) => p.name));
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
      const port = c[probe]?.httpGet?.port;
      if (port !== undefined && !portNames.has(port)) problems.push(`${at}: ${probe} uses unknown port ${port}`);
    }
    // The flag and the declared port must agree, or the probes and Prometheus knock on a closed port.
    const flag = (c.args ?? []).find((a: string) => a.startsWith('--metrics-port='));
    const metrics = (c.ports ?? []).find((p: any) => p.name === 'metrics');
    if (!flag || !metrics || flag !== `--metrics-port=${metrics.containerPort}`) problems.push(`${at}: ${flag ?? 'no --metrics-port'} vs metrics port ${metrics?.containerPort}`);
  }
  return problems;
}

/** A Service must select the pods of some Deployment and target a port those pods declare. */
export function serviceProblems(service: K8sObject, deployments: K8sObject[]): string[] {
  const spec = service.spec as any;
  const matches = deployments.filter((d) => {
    const labels = (d.spec as any).template.metadata.labels ?? {};
    return (d.metadata.namespace === service.metadata.namespace) && Object.entries(spec.selector ?? {}).every(([k, v]) => labels[k] === v);
  });
  if (matches.length !== 1) return [`Service ${service.metadata.name} selects ${matches.length} Deployments`];
  const names = new Set(podSpecOf(matches[0]!).containers.flatMap((c: Container) => (c.ports ?? []).map((p: any) => p.name)));
  return (spec.ports as any[]).filter((p) => !names.has(p.targetPort)).map((p) => `Service ${service.metadata.name}: targetPort ${p.targetPort} is not a port of ${matches[0]!.metadata.name}`);
}

/** Every ServiceAccount a pod runs as exists and is bound to a ClusterRole that exists. */
export function bindingProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  for (const d of deployments) {
    const sa = podSpecOf(d).serviceAccountName;
    const ns = d.metadata.namespace;
    if (!objects.some((o) => o.kind === 'ServiceAccount' && o.metadata.name === sa && o.metadata.namespace === ns)) problems.push(`Deployment ${d.metadata.name}: no ServiceAccount ${ns}/${sa}`);
    const bindings = objects.filter((o) => o.kind === 'ClusterRoleBinding' && (o.subjects as any[]).some((s) => s.kind === 'ServiceAccount' && s.name === sa && s.namespace === ns));
    if (bindings.length !== 1) problems.push(`ServiceAccount ${ns}/${sa} has ${bindings.length} ClusterRoleBindings`);
    for (const b of bindings) {
      const ref = b.roleRef as any;
      if (!objects.some((o) => o.kind === ref.kind && o.metadata.name === ref.name)) problems.push(`ClusterRoleBinding ${b.metadata.name}: no ${ref.kind} ${ref.name}`);
    }
  }
  return problems;
}

/** Kinds that are cluster-scoped; every other object must carry the install namespace. */
export const CLUSTER_SCOPED = new Set(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'PhysicalHost', 'ConsolidationPolicy']);
