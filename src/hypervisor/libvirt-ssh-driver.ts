/**
 * The HypervisorDriver for real hosts: virsh over one pooled SSH connection per host (ssh2),
 * host keys checked strictly against the known_hosts of the host's Secret.
 */
import type { HostTarget, HypervisorDriver, MigrationRequest, ObservedHost } from '../api/drivers.ts';
import { systemClock, type Clock } from '../api/clock.ts';
import { loadBetween, type HostLoadSource } from './cpu-load.ts';
import { HypervisorError } from './errors.ts';
import { hostEndpoint } from './host-endpoint.ts';
import { parseSamples, twoSamplesCommand } from './host-sample.ts';
import { migrateDomain, type DetailedMigrationOutcome } from './migration.ts';
import { SshPool } from './ssh-pool.ts';

export interface LibvirtSshDriverOptions {
  /** Time between the two CPU samples of one observation (default 1000 ms). */
  sampleIntervalMs?: number;
  /**
   * Where a host's CPU load comes from: `procStat` (default; the real machine's /proc/stat) or
   * `domainSum` (its domains' CPU time over spec.capacity.cpuCores — for hosts sharing one
   * machine, like the lab, where /proc/stat is the same for all of them).
   */
  hostLoad?: HostLoadSource;
  connectTimeoutMs?: number;
  /** Timeout of one ordinary command (sample, job info, domain state). Default 30 s. */
  commandTimeoutMs?: number;
  /** How often a running migration's job info is polled for progress (default 500 ms). */
  progressPollMs?: number;
  /** SSH connections kept open at most, least recently used closed first (default 1024; ssh-pool.ts). */
  maxConnections?: number;
  clock?: Clock;
}

export class LibvirtSshDriver implements HypervisorDriver {
  private readonly pool: SshPool;
  private readonly clock: Clock;
  private readonly sampleIntervalMs: number;
  private readonly hostLoad: HostLoadSource;
  private readonly commandTimeoutMs: number;
  private readonly progressPollMs: number;

  constructor(options: LibvirtSshDriverOptions = {}) {
    this.pool = new SshPool({ connectTimeoutMs: options.connectTimeoutMs, maxConnections: options.maxConnections });
    this.clock = options.clock ?? systemClock;
    this.sampleIntervalMs = options.sampleIntervalMs ?? 1000;
    this.hostLoad = options.hostLoad ?? 'procStat';
    this.commandTimeoutMs = options.commandTimeoutMs ?? 30_000;
    this.progressPollMs = options.progressPollMs ?? 500;
  }

  async observeHost(host: HostTarget): Promise<ObservedHost> {
    const observedAtMs = () => this.clock.now();
    try {
      const endpoint = hostEndpoint(host);
      const command = twoSamplesCommand(endpoint.libvirtUri, this.sampleIntervalMs);
      const result = await this.pool.exec(endpoint, command, { timeoutMs: this.commandTimeoutMs + this.sampleIntervalMs });
      if (result.code !== 0) {
        throw new HypervisorError('CommandFailed', `host ${host.name}: sampling failed with exit ${result.code ?? 'none'}: ${result.stderr.trim().slice(0, 300)}`, host.name);
      }
      const samples = parseSamples(result.stdout, host.name, 'virsh domstats (two samples)');
      if (samples.length !== 2) throw new HypervisorError('BadReply', `host ${host.name}: expected 2 samples, got ${samples.length}`, host.name);
      const figures = loadBetween(samples[0], samples[1], this.hostLoad, endpoint.capacityCores);
      return {
        name: host.name,
        reachable: true,
        powerState: 'on',
        cpuLoadPercent: figures.hostPercent,
        memoryUsedMiB: figures.memoryUsedMiB,
        domains: figures.domains,
        observedAtMs: observedAtMs(),
      };
    } catch (error) {
      const reason = error instanceof HypervisorError ? error.reason : 'Unreachable';
      // The host answered but its reply was wrong (`virsh` failing while libvirtd restarts, a reply
      // that cannot be parsed): it is up, only not understood. Its domains are unknown, not none:
      // `error` is set, so isObservable() is false and nothing reads the empty list as an empty host.
      const answered = reason === 'BadReply' || reason === 'CommandFailed';
      return {
        name: host.name,
        reachable: answered,
        powerState: answered ? 'on' : 'unknown',
        domains: [],
        error: (error as Error).message,
        errorReason: reason,
        observedAtMs: observedAtMs(),
      };
    }
  }

  migrate(request: MigrationRequest): Promise<DetailedMigrationOutcome> {
    return migrateDomain(
      {
        pool: this.pool,
        now: () => this.clock.now(),
        sleep: (ms, signal) => this.clock.sleep(ms, signal),
        commandTimeoutMs: this.commandTimeoutMs,
        progressPollMs: this.progressPollMs,
      },
      request,
    );
  }

  /** SSH connections open now (at most maxConnections once the commands running have ended). */
  get openConnections(): number {
    return this.pool.size;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
