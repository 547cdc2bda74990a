/**
 * ConsolidationPlan: one decision round's proposal under a ConsolidationPolicy with
 * `approval: Manual`, waiting for a person (or a GitOps pull request) to approve it. Tide writes
 * everything in status — the actions, their reasons, the predictions — through the status
 * subresource, which only Tide's ServiceAccount may write; a person sets `spec.approved` only.
 * So whoever may approve a plan cannot change what it does.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Conditions, StringEnum } from './schema-helpers.ts';

export const ConsolidationPlanSpec = Type.Object(
  {
    // No default: a defaulted field would belong to Tide's field manager (it created the plan),
    // and a GitOps tool's server-side apply of `approved: true` would then meet a conflict.
    approved: Type.Optional(Type.Boolean({
      description: 'Set to true (kubectl patch, a GitOps pull request, or `tide approve NAME`) to let Tide carry the plan out; absent or false, nothing runs. Approving a plan that is no longer Proposed does nothing.',
    })),
  },
  { description: 'The one thing a person decides about a plan: whether it may run.' },
);

export const PlanPhase = StringEnum(['Proposed', 'Approved', 'Executing', 'Succeeded', 'Failed', 'Superseded'] as const, {
  description: 'Proposed: waiting for spec.approved; Approved: the approval seen and the plan still holds (Executing follows in the same decision round); Executing: being carried out; Succeeded / Failed: carried out (Failed: some action failed or was skipped); Superseded: never run, because the hosts or VMs changed so that it no longer holds, or a different proposal replaced it.',
});

export const PlannedAction = Type.Object(
  {
    type: StringEnum(['migrate', 'power-on', 'power-off', 'alert'] as const, { description: 'What is done: live-migrate a VM, power a host on or off, or raise an alert (a Warning Event).' }),
    reason: Type.String({ description: "The planner's machine-readable reason (Consolidate, EmptyHost, Balance, Overloaded, Evacuate …)." }),
    message: Type.String({ description: 'Why, in one sentence with the names and numbers the decision rested on.' }),
    vm: Type.Optional(Type.String({ description: 'libvirt domain that moves (migrate only).' })),
    from: Type.Optional(Type.String({ description: 'PhysicalHost the VM runs on when proposed (migrate only).' })),
    to: Type.Optional(Type.String({ description: 'PhysicalHost the VM moves to (migrate only).' })),
    host: Type.Optional(Type.String({ description: 'PhysicalHost powered on or off, or the alert is about.' })),
  },
  { description: 'One action of the plan, in the order the planner made them.' },
);

export const PlanPrediction = Type.Object(
  {
    windowSeconds: Type.Integer({ minimum: 0, description: 'The window the predictions cover, from the proposal on (one hour, as for the savings Tide records per power-off).' }),
    wattsSaved: Type.Number({ description: 'Idle watts of the hosts the plan powers off, minus those of the hosts it powers on (PhysicalHost spec.power.idleWatts; a host without it counts 0). Negative when the plan draws more.' }),
    energySavedWh: Type.Number({ description: 'wattsSaved held over the window, in watt-hours.' }),
    hostsOverThreshold: Type.Array(Type.String(), { maxItems: 1000, description: 'SLA risk: hosts whose CPU load, with the plan carried out on the loads observed at the proposal, is over the policy\'s overloadThresholdPercent (Th1).' }),
    minutesOverloaded: Type.Number({ minimum: 0, description: 'SLA risk: host-minutes over Th1 in the window, if the loads stay as observed: hostsOverThreshold × the window in minutes.' }),
  },
  { description: "What the plan is expected to do to power and load, worked out from the round's snapshot (a prediction, not a measurement)." },
);

export const ConsolidationPlanStatus = Type.Object(
  {
    phase: Type.Optional(PlanPhase),
    reason: Type.Optional(Type.String({ description: 'Machine-readable reason for the phase (AwaitingApproval, Approved, Executing, Executed, ActionsFailed, Invalidated, NewProposal, NoLongerProposed, Interrupted, ApprovalAutomatic).' })),
    message: Type.Optional(Type.String({ description: 'Why, in one sentence: for Superseded, what changed (e.g. the VM is no longer on its source, a target is in maintenance).' })),
    policy: Type.Optional(Type.String({ description: 'ConsolidationPolicy whose decision round proposed the plan.' })),
    strategy: Type.Optional(Type.String({ description: 'Strategy that made the plan.' })),
    summary: Type.Optional(Type.String({ description: "The planner's one-line summary." })),
    fingerprint: Type.Optional(Type.String({ description: 'Hash of the actions (type, VM, hosts, reason; not the messages, whose figures move every round): an identical proposal in a later round is recognised and does not create a new plan.' })),
    proposedAt: Type.Optional(Type.String({ format: 'date-time', description: 'When the decision round proposed it.' })),
    approvedAt: Type.Optional(Type.String({ format: 'date-time', description: 'When Tide first saw spec.approved true.' })),
    completedAt: Type.Optional(Type.String({ format: 'date-time', description: 'When it finished: carried out, or superseded.' })),
    actions: Type.Optional(Type.Array(PlannedAction, { maxItems: 10000, description: 'Every action of the plan, with its reason.' })),
    prediction: Type.Optional(PlanPrediction),
    results: Type.Optional(
      Type.Array(
        Type.Object(
          {
            action: Type.Integer({ minimum: 0, description: 'Index of the action in status.actions.' }),
            result: Type.String({ description: "The executor's outcome: succeeded, failed or skipped." }),
            detail: Type.Optional(Type.String({ description: 'What happened, or why it failed or was skipped.' })),
          },
          { description: 'What became of one action.' },
        ),
        { maxItems: 10000, description: 'What became of each action, once carried out.' },
      ),
    ),
    conditions: Type.Optional(Conditions),
  },
  { description: 'The plan and what became of it; written by Tide only.' },
);

export type ConsolidationPlanSpec = Static<typeof ConsolidationPlanSpec>;
export type ConsolidationPlanStatus = Static<typeof ConsolidationPlanStatus>;
export type PlanPhase = Static<typeof PlanPhase>;
export type PlannedAction = Static<typeof PlannedAction>;
export type PlanPrediction = Static<typeof PlanPrediction>;
