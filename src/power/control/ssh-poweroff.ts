/**
 * One command over SSH (ssh2) for the power driver: the guarded `systemctl poweroff`
 * (guarded-poweroff.ts), which stops the host's services and halts, or its check alone. The host
 * key is checked strictly against known_hosts from the host's Secret; nothing interactive is ever
 * asked (no password, no keyboard-interactive).
 */
import { Client } from 'ssh2';
import { isKnownHostKey } from './known-hosts.ts';

export interface SshTarget {
  host: string;
  port: number;
  username: string;
  privateKey: string;
  knownHosts: string;
}

export class SshCommandError extends Error {}

export interface SshCommandOptions {
  timeoutMs?: number;
  /** How the command is named in errors (default: the command line itself). */
  label?: string;
  /**
   * Count a connection that drops (or a command killed by a signal) once the command started as
   * success. True for a power-off: a host going down may cut the session before it replies; what
   * happened is then confirmed by observation. False for a check, which must answer exit 0.
   */
  droppedIsDone?: boolean;
}

/** Runs `command` and resolves when it exits 0 (or, with droppedIsDone, when the host cut it after it started). */
export function runSshCommand(target: SshTarget, command: string, options: SshCommandOptions = {}): Promise<void> {
  const { timeoutMs = 30_000, label = command, droppedIsDone = false } = options;
  return new Promise((resolve, reject) => {
    const client = new Client();
    let started = false;
    let settled = false;
    let hostKeyRejected = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.end();
      if (err) reject(err);
      else resolve();
    };
    const where = `${target.username}@${target.host}:${target.port}`;
    const timer = setTimeout(() => finish(new SshCommandError(`ssh ${where}: no answer within ${timeoutMs / 1000}s`)), timeoutMs);
    client.on('ready', () => {
      client.exec(command, (err, stream) => {
        if (err) return finish(new SshCommandError(`ssh ${where}: cannot run ${label}: ${err.message}`));
        started = true;
        let stderr = '';
        stream.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        stream.on('data', () => {});
        stream.on('exit', (code: number | null) => {
          if (code === 0 || (code === null && droppedIsDone)) finish();
          else finish(new SshCommandError(`ssh ${where}: ${label} ${code === null ? 'was killed' : `exited ${code}`}: ${stderr.trim()}`));
        });
      });
    });
    client.on('error', (err) => {
      if (hostKeyRejected) finish(new SshCommandError(`ssh ${where}: host key not in known_hosts (strict checking): refusing to connect`));
      else if (started && droppedIsDone) finish(); // the host went down under us: what poweroff does
      else finish(new SshCommandError(`ssh ${where}: ${err.message}`));
    });
    client.on('close', () =>
      started && droppedIsDone ? finish() : finish(new SshCommandError(`ssh ${where}: connection closed${started ? ` before ${label} answered` : ''}`)),
    );
    client.connect({
      host: target.host,
      port: target.port,
      username: target.username,
      privateKey: target.privateKey,
      tryKeyboard: false,
      readyTimeout: timeoutMs,
      hostVerifier: (key: Buffer) => {
        const ok = isKnownHostKey(target.knownHosts, target.host, target.port, key);
        if (!ok) hostKeyRejected = true;
        return ok;
      },
    });
  });
}
