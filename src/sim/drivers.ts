/**
 * The simulated data centre behind the same interfaces as the real drivers, so the operator
 * (`tide dev`) runs its real controller against it: HypervisorDriver (observe, live-migrate),
 * PowerDriver (boot, shut down) and MeterSource (watts and energy per host). Every call takes
 * simulated time on the SimClock: a migration resolves when the simulated copy is done, a
 * power-on when the simulated boot is over. Hosts are found by HostTarget.name.
 */
import { PowerActionError, type HostTarget, type HypervisorDriver, type MeterReading, type MeterSource, type MigrationOutcome, type MigrationRequest, type ObservedHost, type PowerDriver, type WakeMethod } from '../api/drivers.ts';
import type { SimClock } from './clock.ts';
import type { SimDataCentre, SimHost } from './datacentre.ts';
import type { Scenario } from './scenario.ts';

export class SimHypervisorDriver implements HypervisorDriver {
  constructor(
    private readonly clock: SimClock,
    /** Simulated time one observation takes (an SSH round trip and virsh), ms. */
    private readonly observeLatencyMs = 0,
  ) {}

  private get dc(): SimDataCentre {
    return this.clock.dc;
  }

  async observeHost(target: HostTarget): Promise<ObservedHost> {
    if (this.observeLatencyMs > 0) await this.clock.sleep(this.observeLatencyMs);
    const host = this.dc.hosts.get(target.name);
    const observedAtMs = this.clock.now();
    if (!host) return { name: target.name, reachable: false, powerState: 'unknown', domains: [], error: `no host ${target.name} in the simulation`, errorReason: 'UnknownHost', observedAtMs };
    if (host.powerState !== 'on') {
      return { name: target.name, reachable: false, powerState: host.powerState, domains: [], error: `${target.name} is ${host.powerState}`, errorReason: 'HostNotOn', observedAtMs };
    }
    return {
      name: target.name,
      reachable: true,
      powerState: 'on',
      cpuLoadPercent: host.utilisation,
      memoryUsedMiB: this.dc.memoryUsedMiB(host),
      watts: host.watts,
      // A VM being migrated shows as 'migrating' on its source, as libvirt shows an active migration job.
      domains: [...host.vms].map((vm) => ({ name: vm.spec.name, state: vm.migration ? 'migrating' : 'running', vcpus: vm.spec.vcpus, memoryMiB: vm.spec.memoryMiB, cpuLoadPercent: vm.load })),
      observedAtMs,
    };
  }

  migrate(request: MigrationRequest): Promise<MigrationOutcome> {
    const { domain } = request;
    const started = this.clock.now();
    const vm = this.dc.vms.get(domain);
    const outcome = (succeeded: boolean, error?: string): MigrationOutcome => ({
      domain,
      runningOn: this.dc.vms.get(domain)?.host.spec.name ?? null,
      succeeded,
      durationMs: this.clock.now() - started,
      ...(error !== undefined && { error }),
    });
    if (!vm) return Promise.resolve(outcome(false, `no domain ${domain} in the simulation`));
    if (vm.host.spec.name !== request.from.name) return Promise.resolve(outcome(false, `${domain} runs on ${vm.host.spec.name}, not ${request.from.name}`));
    if (request.signal?.aborted) return Promise.resolve(outcome(false, 'aborted before it started'));
    return new Promise((resolve) => {
      const timeout = new AbortController();
      const finish = (result: MigrationOutcome) => {
        timeout.abort();
        request.signal?.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const onAbort = () => this.dc.abortMigration(domain, 'aborted');
      try {
        this.dc.startMigration(domain, request.to.name, (r) => finish(outcome(r.succeeded, r.error)));
        request.onProgress?.(0);
        request.signal?.addEventListener('abort', onAbort, { once: true });
        this.clock.sleep(request.timeoutMs, timeout.signal).then(
          () => this.dc.abortMigration(domain, `timed out after ${request.timeoutMs} ms`),
          () => {},
        );
      } catch (err) {
        finish(outcome(false, (err as Error).message));
      }
    });
  }

  async close(): Promise<void> {}
}

export interface SimPowerOptions {
  /**
   * Is this wake lost (a Wake-on-LAN packet dropped, a BMC that does not answer)? A lost wake
   * boots nothing: the driver gives up at the host's bootTimeoutSeconds, as a real one would.
   */
  lostWake?: (host: string, method: WakeMethod | undefined) => boolean;
}

export class SimPowerDriver implements PowerDriver {
  constructor(
    private readonly clock: SimClock,
    private readonly options: SimPowerOptions = {},
  ) {}

  async powerOn(target: HostTarget, signal?: AbortSignal, method?: WakeMethod): Promise<void> {
    if (this.options.lostWake?.(target.name, method)) {
      const timeoutS = (target.spec as { power?: { bootTimeoutSeconds?: number } }).power?.bootTimeoutSeconds ?? 600;
      await this.clock.sleep(timeoutS * 1000, signal).catch(() => {});
      throw new PowerActionError(target.name, 'on', `${target.name} was not observed up within ${timeoutS} s of ${method ?? 'its wake'}`);
    }
    return this.act(target, 'on', signal);
  }

  powerOff(target: HostTarget, signal?: AbortSignal): Promise<void> {
    return this.act(target, 'off', signal);
  }

  private act(target: HostTarget, action: 'on' | 'off', signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new PowerActionError(target.name, action, 'aborted'));
      const done = (err?: Error) => (err ? reject(new PowerActionError(target.name, action, err.message)) : resolve());
      try {
        if (action === 'on') this.clock.dc.powerOn(target.name, done);
        else this.clock.dc.powerOff(target.name, done);
      } catch (err) {
        reject(new PowerActionError(target.name, action, (err as Error).message));
      }
    });
  }
}

/** Reads every host's watts and cumulative energy every `intervalMs` of simulated time. */
export class SimMeterSource implements MeterSource {
  private stopper: AbortController | null = null;

  constructor(
    private readonly clock: SimClock,
    private readonly intervalMs = 10_000,
  ) {}

  async start(onReading: (reading: MeterReading) => void): Promise<void> {
    if (this.stopper) return;
    const stopper = new AbortController();
    this.stopper = stopper;
    const readAll = () => {
      for (const host of this.clock.dc.hosts.values()) onReading(reading(this.clock, host));
    };
    readAll();
    void (async () => {
      while (!stopper.signal.aborted) {
        try {
          await this.clock.sleep(this.intervalMs, stopper.signal);
        } catch {
          return;
        }
        readAll();
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopper?.abort();
    this.stopper = null;
  }
}

function reading(clock: SimClock, host: SimHost): MeterReading {
  return { meterId: host.spec.meterId, watts: host.watts, energyWh: clock.dc.hostEnergyWh(host), atMs: clock.now(), source: 'sim' };
}

/** HostTargets for a scenario's hosts: what PhysicalHost specs for the simulator would say. */
export function simHostTargets(scenario: Scenario): HostTarget[] {
  return scenario.hosts.map((h) => ({
    name: h.name,
    spec: {
      address: h.name,
      capacity: { cpuCores: h.cpuCores, memoryMiB: h.memoryMiB },
      power: { idleWatts: h.power.idleWatts, peakWatts: h.power.peakWatts },
      meter: { ieeeAddress: h.meterId },
      standbyAllowed: h.standbyAllowed,
      maintenance: h.maintenance,
    },
  }));
}
