import { parseArgs } from 'node:util';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { CONSOLIDATION_PLAN, GROUP, VERSION } from '../../api/crds.ts';
import type { ConsolidationPlan } from '../../api/types.ts';
import { DEFAULT_TIDE_NAMESPACE } from '../../controller/credentials.ts';
import { UserError, type CliCommand } from '../command.ts';
import { loadKubeConfig } from '../kubeconfig.ts';

const USAGE = `usage: tide approve NAME [--namespace NS] [--kubeconfig FILE]

Sets spec.approved: true on the ConsolidationPlan NAME (kubectl get cplan -n ${DEFAULT_TIDE_NAMESPACE}),
the same as: kubectl patch cplan NAME -n ${DEFAULT_TIDE_NAMESPACE} --type=merge -p '{"spec":{"approved":true}}'.
Tide carries it out in its next decision round (at once: the approval starts one), and only if
it still holds then; otherwise it becomes Superseded and never runs.

  --namespace NS       Tide's namespace, where its plans are (default ${DEFAULT_TIDE_NAMESPACE})
  --kubeconfig FILE    kubeconfig (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)`;

export const command: CliCommand = {
  name: 'approve',
  summary: 'approve a ConsolidationPlan (policy approval: Manual) so that Tide carries it out',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { namespace: { type: 'string' }, kubeconfig: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw new UserError(`give exactly one plan name (kubectl get cplan -n ${DEFAULT_TIDE_NAMESPACE})\n${USAGE}`);
    const name = positionals[0]!;
    const namespace = values.namespace ?? DEFAULT_TIDE_NAMESPACE;
    const api = loadKubeConfig(values.kubeconfig).makeApiClient(CustomObjectsApi);
    const ref = { group: GROUP, version: VERSION, plural: CONSOLIDATION_PLAN.plural, namespace, name };
    let plan: ConsolidationPlan;
    try {
      plan = (await api.getNamespacedCustomObject(ref)) as ConsolidationPlan;
    } catch (err) {
      if ((err as { code?: number }).code === 404) throw new UserError(`no ConsolidationPlan ${name} in namespace ${namespace}`);
      throw err;
    }
    const phase = plan.status?.phase;
    if (!phase) throw new UserError(`ConsolidationPlan ${namespace}/${name} was not proposed by Tide (it has no status.phase): Tide never runs it`);
    if (phase !== 'Proposed' && phase !== 'Approved') throw new UserError(`ConsolidationPlan ${namespace}/${name} is ${phase} (${plan.status?.reason}: ${plan.status?.message}): nothing to approve`);
    if (plan.spec.approved) {
      console.log(`consolidationplan.tide.dev/${name} already approved`);
      return 0;
    }
    // A replace carrying the resourceVersion read: a plan that changed meanwhile is not approved blind.
    await api.replaceNamespacedCustomObject({ ...ref, body: { ...plan, spec: { ...plan.spec, approved: true } } });
    console.log(`consolidationplan.tide.dev/${name} approved: ${plan.status?.actions?.length ?? 0} action(s); ${plan.status?.summary ?? ''}`);
    return 0;
  },
};
