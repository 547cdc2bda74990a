/**
 * The last look before an action: is it still wanted, given the objects as the API server has
 * them *now*? A plan is made from the informer cache at the start of a round, and its
 * power-offs run only after its migrations, which can take tens of minutes; meanwhile a user
 * may set `dryRun`, `maintenance` or `standbyAllowed: false`, delete the policy or pin a VM.
 * Pure: the fresh objects in, a reason to refuse (or undefined) out.
 */
import { CONSOLIDATION_POLICY, PHYSICAL_HOST, specWithDefaults, VIRTUAL_MACHINE_PLACEMENT } from '../api/crds.ts';
import type { ConsolidationPolicy, ConsolidationPolicySpec, PhysicalHost, PhysicalHostSpec, VirtualMachinePlacement, VirtualMachinePlacementSpec } from '../api/types.ts';
import type { MigrateAction, PowerOffAction, PowerOnAction } from '../planner/types.ts';
import { plannerPolicy } from './policy.ts';

export interface FreshObjects {
  /** The policy the plan was made under, read again (undefined: deleted). */
  policy: ConsolidationPolicy | undefined;
  /** The uid of the policy the plan was made under. */
  planPolicyUid: string | undefined;
}

/** Reasons shared by every action: the policy that asked for it is gone, replaced or in dry run. */
function refuseByPolicy(fresh: FreshObjects): string | undefined {
  const { policy } = fresh;
  if (!policy || policy.metadata.deletionTimestamp) return 'the ConsolidationPolicy was deleted since the plan was made';
  if (fresh.planPolicyUid && policy.metadata.uid && policy.metadata.uid !== fresh.planPolicyUid) return 'the ConsolidationPolicy was replaced since the plan was made';
  if (specOf<ConsolidationPolicySpec>(CONSOLIDATION_POLICY, policy).dryRun) return 'dryRun was set since the plan was made';
  return undefined;
}

export function refuseMigration(action: MigrateAction, fresh: FreshObjects & { placement?: VirtualMachinePlacement; target?: PhysicalHost }): string | undefined {
  const byPolicy = refuseByPolicy(fresh);
  if (byPolicy) return byPolicy;
  const { placement, target } = fresh;
  if (!placement || placement.metadata.deletionTimestamp) return `the VirtualMachinePlacement of ${action.vm} was deleted`;
  const spec = specOf<VirtualMachinePlacementSpec>(VIRTUAL_MACHINE_PLACEMENT, placement);
  if (spec.domain !== action.vm) return `the placement now names domain ${spec.domain}, not ${action.vm}`;
  if (spec.doNotMigrate) return `${action.vm} was marked doNotMigrate`;
  if (spec.pinnedHost !== undefined && spec.pinnedHost !== action.to) return `${action.vm} was pinned to ${spec.pinnedHost}`;
  if (!target || target.metadata.deletionTimestamp) return `${action.to} is no longer a PhysicalHost`;
  const targetSpec = specOf<PhysicalHostSpec>(PHYSICAL_HOST, target);
  if (targetSpec.maintenance) return `${action.to} was put in maintenance`;
  if (targetSpec.powerPolicy === 'Off') return `${action.to} is to be kept off now (powerPolicy Off)`;
  return undefined;
}

export function refusePowerOff(action: PowerOffAction, fresh: FreshObjects & { host?: PhysicalHost }, nowMs: number): string | undefined {
  const byPolicy = refuseByPolicy(fresh);
  if (byPolicy) return byPolicy;
  // powerPolicy Off is the administrator's order: only that order withdrawn (or the host gone) stops it.
  if (action.reason === 'PowerPolicyOff') return refuseOrderedPowerOff(action, fresh.host);
  if (!plannerPolicy(specOf<ConsolidationPolicySpec>(CONSOLIDATION_POLICY, fresh.policy!), nowMs).consolidationAllowed) {
    return 'consolidation is no longer allowed now (outside the off-peak windows)';
  }
  const { host } = fresh;
  if (!host || host.metadata.deletionTimestamp) return `${action.host} is no longer a PhysicalHost`;
  const spec = specOf<PhysicalHostSpec>(PHYSICAL_HOST, host);
  if (!spec.standbyAllowed) return `standbyAllowed was set to false on ${action.host}`;
  if ((spec.powerPolicy ?? 'Auto') !== 'Auto') return `powerPolicy was set to ${spec.powerPolicy} on ${action.host}`;
  if (spec.maintenance) return `${action.host} was put in maintenance`;
  if (!spec.power || spec.power.offMethod === 'None') return `${action.host} no longer has a power-off method`;
  return undefined;
}

function refuseOrderedPowerOff(action: PowerOffAction, host: PhysicalHost | undefined): string | undefined {
  if (!host || host.metadata.deletionTimestamp) return `${action.host} is no longer a PhysicalHost`;
  const spec = specOf<PhysicalHostSpec>(PHYSICAL_HOST, host);
  if (spec.powerPolicy !== 'Off') return `powerPolicy of ${action.host} is no longer Off`;
  if (!spec.power || spec.power.offMethod === 'None') return `${action.host} no longer has a power-off method`;
  return undefined;
}

export function refusePowerOn(action: PowerOnAction, fresh: FreshObjects & { host?: PhysicalHost }): string | undefined {
  const byPolicy = refuseByPolicy(fresh);
  if (byPolicy) return byPolicy;
  const { host } = fresh;
  if (!host || host.metadata.deletionTimestamp) return `${action.host} is no longer a PhysicalHost`;
  const spec = specOf<PhysicalHostSpec>(PHYSICAL_HOST, host);
  if (!spec.power || spec.power.onMethod === 'None') return `${action.host} no longer has a power-on method`;
  if (spec.powerPolicy === 'Off') return `${action.host} is to be kept off now (powerPolicy Off)`;
  return undefined;
}

function specOf<S>(def: Parameters<typeof specWithDefaults>[0], obj: { spec?: unknown }): S {
  return specWithDefaults<S>(def, obj.spec);
}
