/**
 * What the operator tests through kubectl share (host removal and evacuation, manual migration,
 * tenancy, plans, wake fallback, the paper): the paper's two hosts and eight VMs applied as a
 * user would, and small probes on what kubectl shows.
 */
import { waitFor } from '../hypervisor/eventually.ts';
import { eventsOnceSent } from '../kube/events.ts';
import { NAMESPACE, type TideCluster } from './clusters.ts';
import { startOperatorProcess, type TideProcess } from './tide-processes.ts';

export const FINALIZER = 'tide.dev/host-protection';
export const eventually = <T>(what: string, probe: () => Promise<T | undefined | false | null>, timeoutMs = 90_000) => waitFor(what, probe, timeoutMs, 250);
export const paper = (f: string) => ['-f', `manifests/examples/paper/${f}`];
export const condition = (obj: any, type: string) => obj?.status?.conditions?.find((c: any) => c.type === type);

/** `tide run --simulate` of the paper's consolidation scenario as the operator, stopped after the test. */
export function startPaperOperator(c: TideCluster, t: { after(fn: () => Promise<void>): void }): TideProcess {
  const operator = startOperatorProcess({ scenario: 'paper-consolidation', speed: 20, kubeconfig: c.credentials.operator, identity: 'tide-operator-0', dataDir: c.dir });
  t.after(() => operator.stop());
  return operator;
}

export async function leaderStarted(p: TideProcess): Promise<void> {
  await eventually(`${p.name} to lead`, async () => {
    if (p.child.exitCode !== null) throw new Error(`${p.name} exited ${p.child.exitCode}\n${p.tail()}`);
    return p.said(`${p.name} is the leader`);
  });
}

/**
 * The paper's two hosts (no meters: the simulated hypervisors report watts) and eight VMs, with
 * the hosts' Secret; `idleWatts` gives the hosts spec.power.idleWatts (for predicted savings).
 */
export async function paperCluster(c: TideCluster, o: { idleWatts?: number } = {}): Promise<void> {
  await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tide-ssh', namespace: NAMESPACE }, stringData: { known_hosts: '# simulated hosts: not used' } }));
  await c.kubectlOk(['apply', ...paper('00-namespace.yaml'), ...paper('hosts.yaml'), ...paper('vms.yaml')]);
  const patch = [{ op: 'remove', path: '/spec/meter' }, ...(o.idleWatts === undefined ? [] : [{ op: 'add', path: '/spec/power/idleWatts', value: o.idleWatts }])];
  for (const host of ['node100', 'node200']) await c.kubectlOk(['patch', 'physicalhost', host, '--type=json', '-p', JSON.stringify(patch)]);
}

export async function events(c: TideCluster, reason: string): Promise<any[]> {
  return (await c.getJson('events', '-A')).items.filter((e: any) => e.reason === reason);
}

/** The Events of `reason` (those `which` keeps), once there is one (eventsOnceSent in test/kube/events.ts says why). */
export function reasonOnceSent(c: TideCluster, reason: string, which: (e: any) => boolean = () => true): Promise<any[]> {
  return eventsOnceSent(c.getJson, `a ${reason} Event`, (e) => e.reason === reason && which(e));
}

/** Makes the operator plan again (a spec change) and waits until it has: a round that could repeat an Event. */
export async function anotherPlanRound(c: TideCluster, threshold: number): Promise<void> {
  const before = (await c.getJson('consolidationpolicy', 'default')).status?.lastEvaluationTime;
  await c.kubectlOk(['patch', 'consolidationpolicy', 'default', '--type=merge', '-p', JSON.stringify({ spec: { balanceThresholdPercent: threshold } })]);
  await eventually('another plan round', async () => (await c.getJson('consolidationpolicy', 'default')).status?.lastEvaluationTime !== before);
}
