/**
 * The chaos soak: the whole operator (informers, reconciler, executor, status, leader election)
 * against the embedded API server and the simulated data centre, with faults from a seeded
 * schedule (faults.ts), the invariants checked after every step (invariants.ts), and, once the
 * faults stop, a wait of at most K rounds for the fleet to converge.
 *
 * Time: one round is STEP_MS of simulated time. Within a round the soak moves the simulated
 * clock from wake-up to wake-up and, after each, waits until no API request of any process is
 * in flight: the operator then waits on simulated time again. Leader election runs on the wall
 * clock (as it must: a Lease is about real time), so a takeover costs about a second of wall
 * time, during which simulated time stands still.
 */
import { CustomObjectsApi } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { customResourceDefinition, GROUP, RESOURCES, VERSION } from '../../src/api/crds.ts';
import type { PowerDriver } from '../../src/api/drivers.ts';
import type { PhysicalHost, VirtualMachinePlacement } from '../../src/api/types.ts';
import { createObjects } from '../../src/cli/dev/create-objects.ts';
import { scenarioResources } from '../../src/cli/dev/scenario-resources.ts';
import { isUnfinished } from '../../src/controller/intents.ts';
import { silentLogger, type Logger } from '../../src/controller/log.ts';
import { startApiServer } from '../../src/kube/apiserver/index.ts';
import type { KubeObject } from '../../src/kube/apiserver/types.ts';
import { KubeHostStore } from '../../src/power/agent/kube-host-store.ts';
import { MeterDirectory } from '../../src/power/agent/meter-directory.ts';
import { MeterFreshness } from '../../src/power/agent/meter-freshness.ts';
import { ZigbeeAgent } from '../../src/power/agent/zigbee-agent.ts';
import { RejectionRecorder } from '../../src/power/meters/meter-rejections.ts';
import { SimClock } from '../../src/sim/clock.ts';
import { createDataCentre } from '../../src/sim/run.ts';
import { noApiFaults, startFaultProxy } from './api-proxy.ts';
import type { DriverFaults } from './drivers.ts';
import { faultSchedule, FAULT_KINDS, type FaultEvent, type FaultKind } from './faults.ts';
import { SOAK_POLICY, soakScenario, type LoadFreeze, type LoadPattern } from './fleet.ts';
import { checkFleet, checkMigrationStart, vmsLost, type FleetRules, type Violation } from './invariants.ts';
import { SoakMeterSource, type MeterFaults } from './meters.ts';
import { OperatorProcess } from './process.ts';
import { Rng } from './rng.ts';

/** Simulated time per round. */
export const STEP_MS = 5_000;
/** Rounds without any change in the data centre (and the API agreeing with it) that count as converged. */
const STABLE_ROUNDS = 30;

export interface SoakOptions {
  seed: number;
  rounds: number;
  hosts?: number;
  vms?: number;
  /** K: rounds the fleet has to converge in once the faults stop. */
  convergeRounds?: number;
  /** Ends the fault phase early once this much wall time has passed (the result says how many rounds ran). */
  maxWallSeconds?: number;
  /** How VM loads change (fleet.ts; default every 20 minutes, one VM in eight hot). */
  load?: LoadPattern;
  /**
   * Up to this many extra fault rounds while a one-shot fault (a kill point, a migration or
   * wake-up fault) still waits for an action to hit (default 0: those left are dropped).
   */
  drainRounds?: number;
  meanGap?: number;
  /** The faults to inject instead of the seed's schedule (shrinking runs a subset). */
  faults?: FaultEvent[];
  /** Test-only: a power driver in place of the simulator's. */
  power?: (clock: SimClock) => PowerDriver;
  /** Stop at the first violation (shrinking wants only yes or no). */
  stopAtViolation?: boolean;
  /** Progress lines (to stderr in the CLI). */
  progress?: (line: string) => void;
  /** The operators' log (silent by default). */
  log?: Logger;
}

export interface SoakResult {
  seed: number;
  /** Rounds with faults actually run (fewer than asked when the wall budget ran out). */
  rounds: number;
  roundsAsked: number;
  hosts: number;
  vms: number;
  faults: Record<string, number>;
  violations: number;
  vmsLost: number;
  converged: boolean;
  /** Rounds after the faults stopped until the fleet had converged (null: it did not within K). */
  convergedAfterRounds: number | null;
  migrations: number;
  powerActions: number;
  operatorsStarted: number;
  simulatedHours: number;
  wallSeconds: number;
  /** The first violations, at most 20. */
  firstViolations: Violation[];
  /** The round of the first violation (undefined: none). */
  firstViolationRound?: number;
  /** The scheduled faults this run drew from. */
  schedule: FaultEvent[];
}

const tick = () => new Promise<void>((r) => setImmediate(r));
const wallSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const wallStart = Date.now();
  const hostsCount = o.hosts ?? 6;
  const vmsCount = o.vms ?? 24;
  const K = o.convergeRounds ?? 240;
  const schedule = o.faults ?? faultSchedule(o.seed, o.rounds, o.meanGap);
  const rng = new Rng(o.seed);
  const freeze: LoadFreeze = {};
  const scenario = soakScenario(o.seed, hostsCount, vmsCount, freeze, o.load);
  const dc = createDataCentre(scenario);
  const clock = new SimClock(dc);
  const counts: Record<string, number> = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0]));
  // Windowed faults count once per window that had an effect, the others once each.
  const counted = new Set<string>();
  let windowId = 0;
  const injected = (kind: FaultKind, key = `${kind}#${windowId}`) => {
    if (counted.has(key)) return;
    counted.add(key);
    counts[kind]++;
  };
  const windowKey = new Map<FaultKind, number>();
  const injectedInWindow = (kind: FaultKind) => injected(kind, `${kind}@${windowKey.get(kind) ?? -1}`);

  const violations: Violation[] = [];
  let round = 0;
  let firstViolationRound: number | undefined;
  const violate = (found: Violation[]) => {
    if (found.length === 0) return;
    firstViolationRound ??= round;
    violations.push(...found);
  };
  const fixed = new Map(scenario.vms.filter((v) => v.pinnedHost || v.doNotMigrate).map((v) => [v.name, v.host]));
  const rules: FleetRules = { vms: scenario.vms.map((v) => v.name), minHostsOn: SOAK_POLICY.minHostsOn, fixed };

  const { hosts, placements, policy } = scenarioResources(scenario, 'default');
  (policy.spec as Record<string, unknown>).migrationTimeout = `${SOAK_POLICY.migrationTimeoutS}s`;
  const api = await startApiServer({ objects: RESOURCES.map((def) => customResourceDefinition(def) as KubeObject) });
  const direct = api.kubeConfig();
  await createObjects(direct, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tide-system' } }, ...hosts, ...placements, policy]);
  const apiFaults = noApiFaults(new Rng(o.seed ^ 0xa91));
  const driverFaults: DriverFaults = { rng: new Rng(o.seed ^ 0xd21), sshDrop: 0, migrations: [], wakes: [], injected: (k) => (k === 'ssh-drop' ? injectedInWindow(k) : injected(k, `${k}#${counts[k]}`)) };
  const meterFaults: MeterFaults = { rng: new Rng(o.seed ^ 0x3e7), mode: 'ok', injected: injectedInWindow };

  let migrations = 0;
  let powerActions = 0;
  let started = 0;
  const processes: OperatorProcess[] = [];
  const restarts: number[] = [];
  const live = () => processes.filter((p) => p.alive);
  const startProcess = async (): Promise<OperatorProcess | undefined> => {
    started++;
    const name = `tide-soak-${started}`;
    try {
      const proc = await OperatorProcess.start(name, {
        api, clock, apiFaults, driverFaults,
        log: o.log ?? silentLogger,
        observeIntervalMs: 30_000,
        ...(o.power ? { power: o.power } : {}),
        onMigrationStarted: (m) => {
          migrations++;
          violate(checkMigrationStart(m.vm.spec.name, clock.now(), m.vm.lastMigratedAtMs, SOAK_POLICY.migrationCooldownS * 1000, fixed));
        },
        onCommand: (proc, what) => {
          if (what.startsWith('power')) powerActions++;
          const other = processes.find((p) => p !== proc && p.acting);
          if (other) violate([{ kind: 'split-brain', atMs: clock.now(), detail: `${proc.name} sends "${what}" while ${other.name} acts too` }]);
        },
        onKilled: () => restarts.push(round + 1),
      });
      processes.push(proc);
      return proc;
    } catch (err) {
      o.progress?.(`${name} failed to start (${(err as Error).message}); retrying next round`);
      restarts.push(round + 1);
      return undefined;
    }
  };

  // The meter agent reads the (faulty) simulated meters and writes watts into host status.
  const agentProxy = await startFaultProxy(api, apiFaults);
  const registry = new Registry();
  const agent = new ZigbeeAgent({
    source: new SoakMeterSource(clock, meterFaults, 30_000),
    store: new KubeHostStore(agentProxy.kubeConfig()),
    directory: new MeterDirectory(),
    freshness: new MeterFreshness(120_000),
    clock,
    registry,
    rejections: new RejectionRecorder({ registry, clock, log: () => {} }),
    tickMs: 30_000,
    refreshMs: 300_000,
    log: () => {}, // refused writes and rejected readings are what the soak causes on purpose
  });
  await agent.start();

  const inFlight = () => agentProxy.inFlight() + processes.reduce((n, p) => n + p.inFlight, 0);
  /** Until nobody waits for the API: the processes wait on simulated time (or hang, dead). */
  const quiesce = async () => {
    const deadline = Date.now() + 15_000;
    for (let idle = 0; idle < 3 && Date.now() < deadline; ) {
      await tick();
      if (inFlight() === 0) idle++;
      else {
        idle = 0;
        await wallSleep(1);
      }
    }
  };
  const check = () => violate(checkFleet(dc, rules));
  /** One round of simulated time, wake-up by wake-up, checking after each. */
  const step = async (toMs: number) => {
    for (let i = 0; i < 500; i++) {
      await quiesce();
      check();
      if (o.stopAtViolation && violations.length) return;
      const next = Math.min(clock.nextWakeAt(), dc.nextEventAt());
      if (next > toMs) break;
      clock.advanceTo(Math.max(next, clock.now()));
    }
    clock.advanceTo(Math.max(toMs, clock.now()));
    await quiesce();
    check();
  };
  /** Time stands still while a leader is being elected (on the wall clock). */
  const awaitLeader = async () => {
    const deadline = Date.now() + 8_000;
    while (live().length > 0 && !processes.some((p) => p.acting) && Date.now() < deadline) await wallSleep(20);
  };

  const windows: { until: number; end: () => void }[] = [];
  const openWindow = (kind: FaultKind, f: FaultEvent, begin: () => void, end: () => void) => {
    windowKey.set(kind, ++windowId);
    begin();
    windows.push({ until: round + f.rounds, end });
  };
  const stopLater: { at: number; proc: OperatorProcess }[] = [];
  const pickLive = (draw: number) => {
    const l = live();
    return l.length ? l[Math.floor(draw * l.length)] : undefined;
  };

  const apply = async (f: FaultEvent) => {
    switch (f.kind) {
      case 'operator-kill': {
        const victim = pickLive(f.draw);
        if (!victim) return;
        injected(f.kind, `${f.kind}@${f.round}`);
        victim.kill();
        restarts.pop(); // onKilled scheduled one next round; this kind waits its own 0–3 rounds
        restarts.push(round + (f.rounds % 4));
        return;
      }
      case 'operator-kill-after-intent':
        driverFaults.killAt = 'after-intent';
        return;
      case 'operator-kill-mid-migration':
        driverFaults.killAt = 'mid-migration';
        return;
      case 'operator-kill-mid-power-off':
        driverFaults.killAt = 'mid-power-off';
        return;
      case 'second-operator': {
        if (live().length >= 2) return;
        const proc = await startProcess();
        if (!proc) return;
        injected(f.kind, `${f.kind}@${f.round}`);
        // Later one of the two goes (SIGTERM): which one the draw says.
        const l = live();
        stopLater.push({ at: round + f.rounds, proc: l[Math.floor(f.draw * l.length)] });
        return;
      }
      case 'ssh-drop':
        return openWindow(f.kind, f, () => (driverFaults.sshDrop = 0.3), () => (driverFaults.sshDrop = 0));
      case 'migration-fail':
      case 'migration-timeout':
      case 'migration-abort':
        driverFaults.migrations.push(f.kind.slice('migration-'.length) as 'fail' | 'timeout' | 'abort');
        return;
      case 'wake-fail':
        driverFaults.wakes.push({ kind: 'fail' });
        return;
      case 'wake-late':
        driverFaults.wakes.push({ kind: 'late', delayMs: Math.round(60_000 + f.draw * 240_000) });
        return;
      case 'meter-garbage':
      case 'meter-silent':
        // At least six rounds: meters are read every 30 s.
        return openWindow(f.kind, { ...f, rounds: Math.max(6, f.rounds) }, () => (meterFaults.mode = f.kind === 'meter-garbage' ? 'garbage' : 'silent'), () => (meterFaults.mode = 'ok'));
      case 'api-409':
        return openWindow(f.kind, f, () => (apiFaults.conflict = 0.3), () => (apiFaults.conflict = 0));
      case 'api-500':
        return openWindow(f.kind, f, () => (apiFaults.serverError = 0.15), () => (apiFaults.serverError = 0));
      case 'api-slow':
        return openWindow(f.kind, f, () => (apiFaults.slowMs = 1000), () => (apiFaults.slowMs = 0));
      case 'api-410':
        injected(f.kind, `${f.kind}@${f.round}`);
        api.compactHistory();
        api.closeWatches();
        return;
      case 'watch-cut':
        injected(f.kind, `${f.kind}@${f.round}`);
        for (const p of processes) p.cutWatches();
        agentProxy.cutWatches();
        return;
      case 'clock-jump':
        injected(f.kind, `${f.kind}@${f.round}`);
        clock.advanceTo(clock.now() + Math.round(120_000 + f.draw * 1_080_000));
        return;
    }
  };
  const windowCounters = () => {
    // API windows count once each if they answered anything with a fault.
    for (const [kind, key] of [['api-409', 'conflict'], ['api-500', 'serverError'], ['api-slow', 'slow']] as const) {
      if (apiFaults.injected[key] > 0) {
        injectedInWindow(kind);
        apiFaults.injected[key] = 0;
      }
    }
  };

  let faultRounds = o.rounds;
  let convergedAfterRounds: number | null = null;
  let lastSignature = '';
  let stableRounds = 0;
  const custom = direct.makeApiClient(CustomObjectsApi);
  const signature = () => [...dc.hosts.values()].map((h) => `${h.spec.name}:${h.powerState}:${[...h.vms].map((v) => v.spec.name).join(',')}:${h.migrations}`).join('|');
  const apiAgrees = async (): Promise<boolean> => {
    const hs = (await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: 'physicalhosts' })) as { items: PhysicalHost[] };
    const ps = (await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: 'virtualmachineplacements' })) as { items: VirtualMachinePlacement[] };
    for (const h of hs.items) {
      const sim = dc.hosts.get(h.metadata.name)!;
      if (isUnfinished(h.status?.powerAction)) return false;
      if (h.status?.powerState !== (sim.powerState === 'on' ? 'On' : sim.powerState === 'off' ? 'Off' : '?')) return false;
    }
    for (const p of ps.items) {
      if (isUnfinished(p.status?.migration)) return false;
      if (p.status?.host !== dc.vms.get(p.spec.domain)?.host.spec.name) return false;
    }
    return true;
  };

  try {
    await startProcess();
    const byRound = new Map<number, FaultEvent[]>();
    for (const f of schedule) byRound.set(f.round, [...(byRound.get(f.round) ?? []), f]);
    for (round = 0; round < faultRounds + K; round++) {
      if (round < faultRounds && o.maxWallSeconds !== undefined && Date.now() - wallStart > o.maxWallSeconds * 1000) {
        o.progress?.(`round ${round}: the wall budget of ${o.maxWallSeconds} s is spent`);
        faultRounds = round;
      }
      const pending = driverFaults.killAt !== undefined || driverFaults.migrations.length > 0 || driverFaults.wakes.length > 0;
      if (round === faultRounds && pending && round < o.rounds + (o.drainRounds ?? 0) && !(o.maxWallSeconds !== undefined && Date.now() - wallStart > o.maxWallSeconds * 1000)) faultRounds++;
      if (round === faultRounds) {
        // The faults stop: every window closes, nothing stays armed, one operator runs on.
        for (const w of windows.splice(0)) w.end();
        driverFaults.killAt = undefined;
        driverFaults.migrations = [];
        driverFaults.wakes = [];
        freeze.atSeconds = dc.elapsedSeconds();
        for (const p of live().slice(1)) await p.stop();
        stopLater.length = 0;
        o.progress?.(`round ${round}: faults stop; waiting up to ${K} rounds for the fleet to converge`);
      }
      for (const w of windows.filter((w) => w.until <= round)) {
        w.end();
        windows.splice(windows.indexOf(w), 1);
      }
      for (const s of stopLater.filter((s) => s.at <= round)) {
        stopLater.splice(stopLater.indexOf(s), 1);
        if (live().length > 1) await s.proc.stop();
      }
      const due = restarts.filter((r) => r <= round);
      if (due.length > 0 || live().length === 0) {
        restarts.splice(0, restarts.length, ...restarts.filter((r) => r > round));
        if (live().length === 0 || round < faultRounds) await startProcess();
      }
      if (round < faultRounds) for (const f of byRound.get(round) ?? []) await apply(f);
      await awaitLeader();
      await step(clock.now() + STEP_MS);
      windowCounters();
      if (o.stopAtViolation && violations.length) break;
      if (round >= faultRounds) {
        const sig = signature();
        stableRounds = sig === lastSignature ? stableRounds + 1 : 0;
        lastSignature = sig;
        const busy = [...dc.hosts.values()].some((h) => h.migrations > 0 || h.powerState === 'booting' || h.powerState === 'shutting-down');
        if (stableRounds >= STABLE_ROUNDS && !busy && processes.filter((p) => p.acting).length === 1 && (await apiAgrees())) {
          convergedAfterRounds = round - faultRounds + 1;
          break;
        }
      }
      if (round % 500 === 499) o.progress?.(`round ${round + 1}/${o.rounds} (${Math.round((Date.now() - wallStart) / 1000)} s): ${violations.length} violation(s), ${migrations} migrations, ${powerActions} power actions, ${started} operators started`);
    }
  } finally {
    await Promise.all(live().map((p) => p.stop(2000)));
    for (const p of processes) if (!p.alive) p.kill();
    await agent.stop();
    await agentProxy.stop();
    await api.stop();
  }
  const lost = vmsLost(dc, rules.vms);
  return {
    seed: o.seed,
    rounds: faultRounds,
    roundsAsked: o.rounds,
    hosts: hostsCount,
    vms: vmsCount,
    faults: counts,
    violations: violations.length,
    vmsLost: lost,
    converged: convergedAfterRounds !== null,
    convergedAfterRounds,
    migrations,
    powerActions,
    operatorsStarted: started,
    simulatedHours: Math.round((dc.elapsedSeconds() / 3600) * 10) / 10,
    wallSeconds: Math.round((Date.now() - wallStart) / 100) / 10,
    firstViolations: violations.slice(0, 20),
    ...(firstViolationRound !== undefined ? { firstViolationRound } : {}),
    schedule,
  };
}
