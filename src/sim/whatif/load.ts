/**
 * The what-if's inputs from disk and the store: the history in a window (read-only, beside a
 * running operator), and a ConsolidationPolicy file as the planner's policy. Bad input throws
 * a HistoryError naming the file, the store or the field.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CONSOLIDATION_POLICY, customResourceDefinition } from '../../api/crds.ts';
import { CustomResourceValidator } from '../../kube/apiserver/validation/custom-resource.ts';
import type { KubeObject } from '../../kube/apiserver/types.ts';
import type { ConsolidationPolicySpec } from '../../api/types.ts';
import { plannerPolicy } from '../../controller/policy.ts';
import type { PlannerPolicy } from '../../planner/types.ts';
import { openHistoryStore } from '../../store/open-store.ts';
import { HistoryError } from './history-trace.ts';
import type { History } from './whatif.ts';

export async function readHistory(where: { dataDir?: string; mongodbUri?: string }, range: { fromMs: number; toMs: number }): Promise<History & { lastStrategy?: string }> {
  if (!where.mongodbUri) {
    const dir = where.dataDir!;
    if (!existsSync(dir)) throw new HistoryError(`no history store at ${dir} (give the --data-dir 'tide run' or 'tide dev' wrote to)`);
    if (!['history', 'samples'].some((d) => existsSync(join(dir, d)))) throw new HistoryError(`${dir} is not a Tide history store (no history/ or samples/ in it)`);
  }
  const store = await openHistoryStore({ mongodbUri: where.mongodbUri ?? '', dataDir: where.dataDir ?? '', readOnly: true });
  try {
    const [hostSamples, vmSamples, actions, decisions] = await Promise.all([store.hostSamples(range), store.vmSamples(range), store.actions(range), store.decisions(range)]);
    if (hostSamples.length === 0 && vmSamples.length === 0) {
      const everything = await store.hostSamples({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER });
      throw new HistoryError(everything.length === 0 ? 'the history store is empty: no observation was ever recorded in it' : `no observation recorded in this window (the store holds ${new Date(everything[0].atMs).toISOString()} → ${new Date(everything[everything.length - 1].atMs).toISOString()})`);
    }
    return { hostSamples, vmSamples, actions, lastStrategy: decisions[decisions.length - 1]?.strategy };
  } finally {
    await store.close();
  }
}

/** A ConsolidationPolicy manifest (or its spec alone) as the planner's policy at `atMs`. */
export function readPolicyFile(file: string, atMs: number): PlannerPolicy {
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new HistoryError(`--policy ${file}: ${(err as Error).message}`);
  }
  const obj = (doc ?? {}) as { kind?: unknown; spec?: unknown };
  if (obj.kind !== undefined && obj.kind !== 'ConsolidationPolicy') throw new HistoryError(`--policy ${file}: kind ${JSON.stringify(obj.kind)}, expected ConsolidationPolicy`);
  // Checked and defaulted as the API server would (the embedded server's validator).
  const crd = customResourceDefinition(CONSOLIDATION_POLICY) as { spec: { versions: { schema: { openAPIV3Schema: unknown } }[] } };
  const validator = new CustomResourceValidator(crd.spec.versions[0].schema.openAPIV3Schema as ConstructorParameters<typeof CustomResourceValidator>[0]);
  const resource = { apiVersion: 'tide.dev/v1alpha1', kind: 'ConsolidationPolicy', metadata: { name: 'what-if' }, spec: obj.kind ? obj.spec : doc } as KubeObject;
  validator.pruneAndDefault(resource);
  const [cause] = validator.validate(resource);
  if (cause) throw new HistoryError(`--policy ${file}: ${cause.field}: ${cause.message}`);
  const spec = resource.spec as ConsolidationPolicySpec;
  return plannerPolicy(spec, atMs);
}
