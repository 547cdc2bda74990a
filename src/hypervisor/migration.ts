/**
 * Live migration of one domain, run as `virsh migrate --live --p2p --persistent --undefinesource`
 * on the source host over SSH. Peer-to-peer: the source libvirtd drives the whole migration and
 * talks to the destination libvirtd itself, so the migration does not depend on Tide's SSH
 * session staying up, and Tide never needs a connection from the destination back to itself.
 * Meanwhile the job is polled (`domjobinfo`) for progress; past the timeout (or on abort) the job
 * is cancelled with `domjobabort`, which leaves the guest running on the source. Whatever
 * happened, the outcome is what is then observed on both hosts, not what virsh said.
 */
import type { MigrationOutcome, MigrationRequest } from '../api/drivers.ts';
import { HypervisorError } from './errors.ts';
import { hostEndpoint, type HostEndpoint } from './host-endpoint.ts';
import {
  domainStateCommand,
  jobAbortCommand,
  jobInfoCommand,
  parseDomainState,
  parseJobInfo,
  type DomainPresence,
} from './job-info.ts';
import { validDomainName } from './names.ts';
import { shellCommand } from './shell-quote.ts';
import type { ExecResult, SshPool } from './ssh-pool.ts';

export interface MigrationTimings {
  /** The pre-check of the domain's state on the source (includes opening the SSH connection if none is pooled). */
  precheckMs: number;
  /** From the request until the migration job was seen running on the source (Tide's share of the start-up). */
  jobStartedAfterMs?: number;
  /** From the job's start until `virsh migrate` returned. */
  jobMs?: number;
  /** From the request until `virsh migrate` returned. */
  commandMs: number;
}

export interface DetailedMigrationOutcome extends MigrationOutcome {
  from: string;
  to: string;
  /** What was observed on each end afterwards ('unknown' when a host could not be asked). */
  observed: { source: DomainPresence | 'unknown'; destination: DomainPresence | 'unknown' };
  timings: MigrationTimings;
}

export interface MigrationDeps {
  pool: SshPool;
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  commandTimeoutMs: number;
  progressPollMs: number;
}

/** The virsh command line run on the source host. */
export function migrateCommand(source: HostEndpoint, destination: HostEndpoint, domain: string): string {
  const argv = ['virsh', '-c', source.libvirtUri, 'migrate', '--live', '--p2p', '--persistent', '--undefinesource', '--verbose', domain, destination.migrationUri];
  if (destination.migrationDataUri) argv.push(destination.migrationDataUri);
  return shellCommand(argv);
}

/**
 * Rejects (HypervisorError) when the request is invalid or the source cannot be asked at all;
 * once the migration was attempted it always resolves with the observed outcome.
 */
export async function migrateDomain(deps: MigrationDeps, request: MigrationRequest): Promise<DetailedMigrationOutcome> {
  const requestedAt = deps.now();
  const domain = validDomainName(request.domain, `migration request from ${request.from.name} to ${request.to.name}`);
  const source = hostEndpoint(request.from);
  const destination = hostEndpoint(request.to);
  if (source.poolKey === destination.poolKey || source.host === destination.host) {
    throw new HypervisorError('InvalidSpec', `migration of ${domain}: source and destination are both ${source.host}`, source.host);
  }
  if (request.signal?.aborted) throw new HypervisorError('Timeout', `migration of ${domain} from ${source.host}: aborted before it started`, source.host);
  const exec = (endpoint: HostEndpoint, command: string): Promise<ExecResult> =>
    deps.pool.exec(endpoint, command, { timeoutMs: deps.commandTimeoutMs });
  const presence = async (endpoint: HostEndpoint): Promise<DomainPresence | 'unknown'> => {
    const command = domainStateCommand(endpoint.libvirtUri, domain);
    return exec(endpoint, command).then((result) => parseDomainState(result, endpoint.host, command), () => 'unknown' as const);
  };
  const outcome = async (error: string | undefined, timings: MigrationTimings): Promise<DetailedMigrationOutcome> => {
    const [onSource, onDestination] = await Promise.all([presence(source), presence(destination)]);
    const moved = onDestination === 'running' && (onSource === 'absent' || onSource === 'shutoff');
    const runningOn =
      onDestination === 'running' ? destination.host : onSource === 'running' || onSource === 'paused' ? source.host : null;
    const message = moved ? undefined : error ?? `${domain} is not running on ${destination.host} (source: ${onSource}, destination: ${onDestination})`;
    return {
      domain,
      from: source.host,
      to: destination.host,
      runningOn,
      succeeded: moved,
      durationMs: deps.now() - requestedAt,
      ...(message === undefined ? {} : { error: message }),
      observed: { source: onSource, destination: onDestination },
      timings,
    };
  };

  // Asking the source first also opens (or checks) the pooled connection before anything moves.
  const stateCommand = domainStateCommand(source.libvirtUri, domain);
  const before = parseDomainState(await exec(source, stateCommand), source.host, stateCommand);
  const precheckMs = deps.now() - requestedAt;
  if (before !== 'running' && before !== 'paused') {
    // Possibly already moved (a retry after a restart): the observation of both ends decides.
    return outcome(`${domain} is not running on ${source.host} (${before}); nothing was migrated`, { precheckMs, commandMs: 0 });
  }

  let finished = false;
  let abortReason: string | undefined;
  let jobStartedAt: number | undefined;
  let lastPercent = -1;
  const abortJob = async (reason: string) => {
    abortReason ??= reason;
    await exec(source, jobAbortCommand(source.libvirtUri, domain)).catch(() => undefined);
  };
  const stopTimer = new AbortController();
  deps.sleep(request.timeoutMs, stopTimer.signal).then(
    () => abortJob(`timed out after ${request.timeoutMs} ms; the migration job was aborted`),
    () => undefined, // the migration ended first
  );
  const onAbort = () => void abortJob('aborted by the caller; the migration job was aborted');
  request.signal?.addEventListener('abort', onAbort, { once: true });

  const watchJob = async () => {
    const command = jobInfoCommand(source.libvirtUri, domain);
    while (!finished) {
      await deps.sleep(deps.progressPollMs);
      if (finished) break;
      const result = await exec(source, command).catch(() => undefined);
      if (!result || result.code !== 0 || finished) continue;
      let info;
      try {
        info = parseJobInfo(result.stdout, source.host, command);
      } catch {
        continue; // progress is best effort; the outcome is observed at the end regardless
      }
      if (!info.active) continue;
      jobStartedAt ??= Math.max(requestedAt, deps.now() - (info.elapsedMs ?? 0));
      // An abort sent before libvirt had created the job found nothing to cancel: send it again.
      if (abortReason) await abortJob(abortReason);
      if (info.percent !== undefined && Math.floor(info.percent) > lastPercent) {
        lastPercent = Math.floor(info.percent);
        request.onProgress?.(lastPercent);
      }
    }
  };

  const migrate = migrateCommand(source, destination, domain);
  const watcher = watchJob();
  let failure: string | undefined;
  try {
    // The job timeout aborts the migration; this longer one only guards against a hung session.
    const result = await deps.pool.exec(source, migrate, { timeoutMs: request.timeoutMs + 4 * deps.commandTimeoutMs });
    if (result.code !== 0) failure = virshError(result) ?? `virsh migrate exited with ${result.code ?? 'no code'}`;
  } catch (error) {
    failure = (error as Error).message;
  } finally {
    finished = true;
    stopTimer.abort();
    request.signal?.removeEventListener('abort', onAbort);
  }
  await watcher;
  const commandDoneAt = deps.now();
  const timings: MigrationTimings = {
    precheckMs,
    commandMs: commandDoneAt - requestedAt,
    ...(jobStartedAt === undefined ? {} : { jobStartedAfterMs: jobStartedAt - requestedAt, jobMs: commandDoneAt - jobStartedAt }),
  };
  const error = abortReason ?? (failure === undefined ? undefined : `migration of ${domain} from ${source.host} to ${destination.host} failed: ${failure}`);
  const result = await outcome(error, timings);
  if (result.succeeded && lastPercent < 100) request.onProgress?.(100);
  return result;
}

/** The "error: …" lines of virsh's stderr (its --verbose progress goes there too). */
function virshError(result: ExecResult): string | undefined {
  const lines = result.stderr
    .split(/[\r\n]+/)
    .map((l) => l.replace(/Migration: \[[ 0-9.]+ %\]/g, '').trim())
    .filter((l) => l.startsWith('error:'));
  return lines.length > 0 ? lines.join('; ').slice(0, 500) : undefined;
}
