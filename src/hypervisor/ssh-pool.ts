/**
 * One SSH connection per host, opened on first use, reused by every command (each command is
 * an exec channel on it), dropped when it breaks and opened again on the next command. At most
 * `maxConnections` stay open: past that, the least recently used idle ones are closed (a fleet
 * of 10,000 hosts would otherwise hold 10,000 connections, their buffers and file descriptors).
 * The server's host key is checked against the host's known_hosts before authentication;
 * an unknown, changed or revoked key ends the handshake and is reported as such.
 */
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { HypervisorError } from './errors.ts';
import type { HostEndpoint } from './host-endpoint.ts';
import { checkHostKey, hostKeyAlgorithms, knownHostsName, type HostKeyVerdict } from './known-hosts.ts';

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit code, or null when the command ended by a signal or the channel closed without one. */
  code: number | null;
}

export interface ExecOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface SshPoolOptions {
  connectTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  /** Longest reply kept, per stream; a host that sends more is treated as misbehaving. */
  maxReplyBytes?: number;
  /** Connections kept open at most (default 1024); busy ones are never closed for this. */
  maxConnections?: number;
}

const HOST_KEY_MESSAGES: Record<Exclude<HostKeyVerdict, 'trusted'>, [HypervisorError['reason'], string]> = {
  unknown: ['HostKeyUnknown', 'presented a host key that known_hosts does not list for it; refused'],
  mismatch: ['HostKeyMismatch', 'presented a host key different from the one in known_hosts (changed key or impostor); refused'],
  revoked: ['HostKeyRevoked', 'presented a host key marked @revoked in known_hosts; refused'],
};

export class SshPool {
  private readonly connections = new Map<string, Promise<Client>>();
  private readonly connectTimeoutMs: number;
  private readonly keepaliveIntervalMs: number;
  private readonly maxReplyBytes: number;
  private readonly maxConnections: number;
  /** Commands running per connection: a busy connection is not closed to make room. */
  private readonly busy = new Map<string, number>();
  private closed = false;

  constructor(options: SshPoolOptions = {}) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 20_000;
    this.keepaliveIntervalMs = options.keepaliveIntervalMs ?? 10_000;
    this.maxReplyBytes = options.maxReplyBytes ?? 8 * 1024 * 1024;
    this.maxConnections = options.maxConnections ?? 1024;
  }

  /** Open (or opening) connections. */
  get size(): number {
    return this.connections.size;
  }

  /** Runs one command line on the host. Retries once on a fresh connection if the pooled one is dead. */
  async exec(endpoint: HostEndpoint, command: string, options: ExecOptions): Promise<ExecResult> {
    if (this.closed) throw new HypervisorError('Unreachable', `host ${endpoint.host}: the driver is closed`, endpoint.host);
    const key = endpoint.poolKey;
    this.busy.set(key, (this.busy.get(key) ?? 0) + 1);
    try {
      const fresh = !this.connections.has(key);
      const pending = this.connection(endpoint);
      const client = await pending;
      try {
        return await this.run(client, endpoint, command, options);
      } catch (error) {
        if (fresh || !(error instanceof ChannelError)) throw error;
        this.forget(key, pending);
        client.end();
        return await this.run(await this.connection(endpoint), endpoint, command, options);
      }
    } finally {
      const left = this.busy.get(key)! - 1;
      if (left > 0) this.busy.set(key, left);
      else this.busy.delete(key);
      this.trim();
    }
  }

  /** Closes the least recently used idle connections beyond maxConnections. */
  private trim(): void {
    for (const [key, pending] of this.connections) {
      if (this.connections.size <= this.maxConnections) return;
      if (this.busy.has(key)) continue;
      this.connections.delete(key);
      pending.then((client) => client.end(), () => undefined);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const pending = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(pending.map((p) => p.then((client) => client.end(), () => undefined)));
  }

  private connection(endpoint: HostEndpoint): Promise<Client> {
    const existing = this.connections.get(endpoint.poolKey);
    if (existing) {
      // Most recently used last: trim() closes from the front.
      this.connections.delete(endpoint.poolKey);
      this.connections.set(endpoint.poolKey, existing);
      return existing;
    }
    let pending: Promise<Client> | undefined;
    const forgetThis = () => pending && this.forget(endpoint.poolKey, pending);
    pending = this.connect(endpoint, forgetThis);
    pending.catch(forgetThis);
    this.connections.set(endpoint.poolKey, pending);
    return pending;
  }

  private forget(poolKey: string, pending: Promise<Client>): void {
    if (this.connections.get(poolKey) === pending) this.connections.delete(poolKey);
  }

  /** Opens a connection; `onGone` runs when it closes (also after a failed handshake). */
  private connect(endpoint: HostEndpoint, onGone: () => void): Promise<Client> {
    const { host, address, port } = endpoint;
    const where = `host ${host} (${knownHostsName(address, port)})`;
    return new Promise((resolve, reject) => {
      const client = new Client();
      let verdict: HostKeyVerdict | undefined;
      let settled = false;
      const algorithms = hostKeyAlgorithms(endpoint.knownHosts, address, port);
      const config: ConnectConfig = {
        host: address,
        port,
        username: endpoint.user,
        privateKey: endpoint.privateKey,
        readyTimeout: this.connectTimeoutMs,
        keepaliveInterval: this.keepaliveIntervalMs,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer) => {
          verdict = checkHostKey(endpoint.knownHosts, address, port, key);
          return verdict === 'trusted';
        },
      };
      if (algorithms.length > 0) config.algorithms = { serverHostKey: algorithms as never };
      client.on('ready', () => {
        settled = true;
        resolve(client);
      });
      client.on('error', (error: Error & { level?: string }) => {
        if (settled) return; // a broken pooled connection is noticed by its next command
        settled = true;
        reject(connectError(where, host, verdict, error));
      });
      client.on('close', () => {
        onGone();
        if (!settled) {
          settled = true;
          reject(new HypervisorError('Unreachable', `${where}: connection closed during the SSH handshake`, host));
        }
      });
      try {
        client.connect(config);
      } catch (error) {
        settled = true;
        reject(new HypervisorError('InvalidSpec', `${where}: cannot connect: ${(error as Error).message}`, host));
      }
    });
  }

  private run(client: Client, endpoint: HostEndpoint, command: string, options: ExecOptions): Promise<ExecResult> {
    const { host } = endpoint;
    return new Promise((resolve, reject) => {
      if (options.signal?.aborted) return reject(new HypervisorError('Timeout', `host ${host}: aborted before \`${command}\``, host));
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let bytes = 0;
      let done = false;
      let channel: { close(): void } | undefined;
      const finish = (outcome: () => void) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        outcome();
      };
      const fail = (reason: HypervisorError['reason'], message: string) => {
        finish(() => reject(new HypervisorError(reason, `host ${host}: ${message} (\`${command}\`)`, host)));
        channel?.close();
      };
      const timer = setTimeout(() => fail('Timeout', `no answer within ${options.timeoutMs} ms`), options.timeoutMs);
      const onAbort = () => fail('Timeout', 'aborted');
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const onChannel = (error: Error | undefined, stream: ClientChannel) => {
        if (error) return finish(() => reject(new ChannelError(host, command, error)));
        channel = stream;
        const collect = (into: Buffer[]) => (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > this.maxReplyBytes) return fail('BadReply', `reply longer than ${this.maxReplyBytes} bytes`);
          into.push(chunk);
        };
        stream.on('data', collect(stdout));
        stream.stderr.on('data', collect(stderr));
        stream.on('close', (code: number | null | undefined) =>
          finish(() =>
            resolve({
              stdout: Buffer.concat(stdout).toString('utf8'),
              stderr: Buffer.concat(stderr).toString('utf8'),
              code: typeof code === 'number' ? code : null,
            }),
          ),
        );
      };
      try {
        client.exec(command, onChannel);
      } catch (error) {
        // ssh2 throws at once when the connection is already gone.
        finish(() => reject(new ChannelError(host, command, error as Error)));
      }
    });
  }
}

/** The pooled connection could not open a channel: it is dead or the server refused. */
class ChannelError extends HypervisorError {
  constructor(host: string, command: string, cause: Error) {
    super('Unreachable', `host ${host}: cannot run \`${command}\`: ${cause.message}`, host);
  }
}

function connectError(where: string, host: string, verdict: HostKeyVerdict | undefined, error: Error & { level?: string }): HypervisorError {
  if (verdict && verdict !== 'trusted') {
    const [reason, message] = HOST_KEY_MESSAGES[verdict];
    return new HypervisorError(reason, `${where} ${message}`, host);
  }
  if (/no matching host key/i.test(error.message)) {
    // The server holds no key of the types known_hosts lists for it: nothing to verify against.
    return new HypervisorError('HostKeyUnknown', `${where} offers no host key of a type known_hosts lists for it; refused`, host);
  }
  if (error.level === 'client-authentication') {
    return new HypervisorError('AuthenticationFailed', `${where}: the server refused the SSH key from the Secret`, host);
  }
  if (/private key|Cannot parse privateKey|Unsupported key format/i.test(error.message)) {
    return new HypervisorError('InvalidSpec', `${where}: the Secret's ssh-privatekey cannot be read (${error.message})`, host);
  }
  if (/Timed out while waiting for handshake/i.test(error.message)) {
    return new HypervisorError('Unreachable', `${where}: no SSH handshake within the connect timeout`, host);
  }
  return new HypervisorError('Unreachable', `${where}: ${error.message}`, host);
}
