/**
 * Orderly power-off over SSH (ssh2): runs `systemctl poweroff` on the host, which stops its
 * services and halts. The host key is checked strictly against known_hosts from the host's
 * Secret; nothing interactive is ever asked (no password, no keyboard-interactive).
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

export const POWEROFF_COMMAND = 'systemctl poweroff';

export class SshCommandError extends Error {}

/**
 * Runs `command` and resolves when it exits 0 — or when the connection drops after the
 * command was started, since a host that is powering off may cut it before replying.
 */
export function runSshCommand(target: SshTarget, command: string, timeoutMs = 30_000): Promise<void> {
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
        if (err) return finish(new SshCommandError(`ssh ${where}: cannot run '${command}': ${err.message}`));
        started = true;
        let stderr = '';
        stream.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        stream.on('data', () => {});
        stream.on('exit', (code: number | null) => {
          if (code === 0 || code === null) finish();
          else finish(new SshCommandError(`ssh ${where}: '${command}' exited ${code}: ${stderr.trim()}`));
        });
      });
    });
    client.on('error', (err) => {
      if (hostKeyRejected) finish(new SshCommandError(`ssh ${where}: host key not in known_hosts (strict checking): refusing to connect`));
      else if (started) finish(); // the host went down under us: what poweroff does
      else finish(new SshCommandError(`ssh ${where}: ${err.message}`));
    });
    client.on('close', () => (started ? finish() : finish(new SshCommandError(`ssh ${where}: connection closed`))));
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
