/**
 * ConsolidationPolicy: the decision parameters. Defaults are the paper's (section 3.2):
 * Th1 = 80 %, Th2 = 80 % of N−1 hosts, balance at d ≥ 10 points, evaluation every 10 minutes
 * and at once on overload.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Conditions, Duration, StringEnum, StringMap, withCel } from './schema-helpers.ts';

export const STRATEGIES = ['paper', 'lr-mmt', 'npa', 'tide'] as const;
export const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
const CLOCK_TIME = '^([01][0-9]|2[0-3]):[0-5][0-9]$';

export const OffPeakWindow = Type.Object(
  {
    start: Type.String({ pattern: CLOCK_TIME, description: 'Start, HH:MM in the policy time zone.' }),
    end: Type.String({ pattern: CLOCK_TIME, description: 'End, HH:MM; a window may cross midnight (22:00–06:00).' }),
    days: Type.Optional(Type.Array(StringEnum(WEEKDAYS), { maxItems: 7, description: 'Days the window starts on; all days when omitted.' })),
  },
  { description: 'A time window in which consolidation and powering hosts off are allowed.' },
);

export const ConsolidationPolicySpec = withCel(
  Type.Object(
    {
      strategy: StringEnum(STRATEGIES, { default: 'paper', description: 'Decision strategy: paper (the paper rules), lr-mmt (Beloglazov & Buyya), npa (no power management), tide.' }),
      overloadThresholdPercent: Type.Number({ default: 80, minimum: 1, maximum: 100, description: 'Th1: average load of active hosts above which a host is powered on.' }),
      consolidationThresholdPercent: Type.Number({ default: 80, minimum: 1, maximum: 100, description: 'Th2: consolidate when the load fits under this share of the capacity of N−1 active hosts.' }),
      balanceThresholdPercent: Type.Number({ default: 10, minimum: 0, maximum: 100, description: 'Balance hosts while the most and least loaded differ by at least this many points.' }),
      evaluationInterval: Duration({ default: '10m', description: 'How often a decision round runs.' }),
      evaluateOnOverload: Type.Boolean({ default: true, description: 'Run a round at once when a host goes over Th1.' }),
      minHostsOn: Type.Integer({ default: 1, minimum: 0, maximum: 100000, description: 'Never fewer active hosts than this.' }),
      maxConcurrentMigrations: Type.Integer({ default: 2, minimum: 1, maximum: 64, description: 'Live migrations running at once, cluster-wide.' }),
      maxMigrationsPerRound: Type.Integer({ default: 20, minimum: 0, maximum: 10000, description: 'Cap on the migrations one round may plan (0: no cap).' }),
      migrationTimeout: Duration({ default: '10m', description: 'A migration still running after this is aborted; the VM stays on its source.' }),
      migrationCooldown: Duration({ default: '30m', description: 'A VM is not migrated again sooner than this (against ping-pong).' }),
      powerCooldown: Duration({ default: '30m', description: 'A host is not powered on or off again sooner than this.' }),
      offPeakWindows: Type.Optional(Type.Array(OffPeakWindow, { maxItems: 32, description: 'When set, consolidation and power-off only happen inside these windows; balancing and power-on always may.' })),
      timeZone: Type.String({ default: 'UTC', maxLength: 64, pattern: '^[A-Za-z0-9_+/-]+$', description: 'IANA time zone of offPeakWindows, e.g. Europe/Berlin.' }),
      dryRun: Type.Boolean({ default: false, description: 'Plan and report, but carry nothing out.' }),
      // Optional in the type (the API server fills the defaults in): specs written before these
      // fields existed, and the tests' hand-made ones, stay valid.
      approval: Type.Optional(StringEnum(['Automatic', 'Manual'] as const, {
        default: 'Automatic',
        description: "Automatic: each round's plan is carried out at once. Manual: each round's plan becomes a ConsolidationPlan in Tide's namespace, carried out only once its spec.approved is true (kubectl patch, GitOps, `tide approve`) and only if it still holds then. dryRun wins over both.",
      })),
      planHistoryLimit: Type.Optional(Type.Integer({ default: 10, minimum: 0, maximum: 1000, description: 'Finished ConsolidationPlans (Succeeded, Failed, Superseded) of this policy kept; older ones are deleted, oldest first.' })),
      hostSelector: Type.Optional(
        Type.Object({
          matchLabels: StringMap({ description: 'Labels a PhysicalHost must carry to be governed by this policy.' }),
        }, { description: 'Which PhysicalHosts the policy governs; all when omitted.' }),
      ),
    },
    { description: 'How Tide balances, consolidates and powers hosts.' },
  ),
  [
    {
      rule: 'self.consolidationThresholdPercent <= self.overloadThresholdPercent',
      message: 'consolidationThresholdPercent must not exceed overloadThresholdPercent, or consolidating would overload the remaining hosts',
      fieldPath: '.consolidationThresholdPercent',
    },
  ],
);

export const ConsolidationPolicyStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0, description: 'metadata.generation of the spec this status was written for.' })),
  activeHosts: Type.Optional(Type.Integer({ minimum: 0, description: 'Governed hosts powered on, at the last evaluation.' })),
  standbyHosts: Type.Optional(Type.Integer({ minimum: 0, description: 'Governed hosts powered off, at the last evaluation.' })),
  averageLoadPercent: Type.Optional(Type.Number({ minimum: 0, description: 'Average CPU load of the active hosts, %, at the last evaluation.' })),
  clusterWatts: Type.Optional(Type.Number({ minimum: 0, description: 'Power drawn by the governed hosts, in watts, at the last evaluation.' })),
  energySavedWh: Type.Optional(Type.Number({ minimum: 0, description: 'Energy saved against all hosts on since the operator started, in watt-hours.' })),
  measuredEnergySavedWh: Type.Optional(Type.Number({ description: "Energy Tide's power-offs saved as the hosts' meters measured it (idle watts before, minus watts read while off, over each power-off's window), summed over every power-off measured, in watt-hours; `tide report` lists each one beside its prediction." })),
  lastEvaluationTime: Type.Optional(Type.String({ format: 'date-time', description: 'When the last decision round ran.' })),
  nextEvaluationTime: Type.Optional(Type.String({ format: 'date-time', description: 'When the next periodic round is due (an overload may start one sooner).' })),
  lastPlan: Type.Optional(
    Type.Object({
      strategy: Type.String({ description: 'Strategy that made the plan.' }),
      summary: Type.String({ description: 'The plan in one line.' }),
      actions: Type.Array(Type.String(), { maxItems: 100, description: 'One line per planned action, with its reason.' }),
    }, { description: 'The plan of the last decision round.' }),
  ),
  pendingPlan: Type.Optional(Type.String({
    maxLength: 253,
    description: "Under approval: Manual, the name of the ConsolidationPlan (in Tide's namespace) that waits for approval: `tide approve NAME` or `kubectl patch cplan NAME --type=merge -p '{\"spec\":{\"approved\":true}}'`. Absent when no plan waits.",
  })),
  conditions: Type.Optional(Conditions),
});

export type ConsolidationPolicySpec = Static<typeof ConsolidationPolicySpec>;
export type ConsolidationPolicyStatus = Static<typeof ConsolidationPolicyStatus>;
export type OffPeakWindow = Static<typeof OffPeakWindow>;
