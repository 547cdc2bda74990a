/**
 * A real OpenSSH server on a free loopback port with its own host key, accepting one client
 * key. Every session runs a recording script instead of the requested command (ForceCommand),
 * so "systemctl poweroff" is received, logged and harmless. With `execute`, the recorded command
 * is then run by /bin/sh with the given folder first on PATH: a fake host whose `virsh` and
 * `systemctl` are stand-ins (fake-host.ts), so remote scripts run for real and still harm nothing.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { canConnect, freePort } from './ports.ts';
import { requireProgram, startProcess, type Started } from './processes.ts';
import { waitFor } from './wait.ts';

export interface TestSshd {
  port: number;
  username: string;
  clientPrivateKey: string;
  /** A known_hosts line for this server's host key. */
  knownHostsLine: string;
  /** Commands the server was asked to run, one per line. */
  commands(): string;
  process: Started;
}

export function keygen(path: string): { privateKey: string; publicKey: string } {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'tide-test', '-f', path]);
  return { privateKey: readFileSync(path, 'utf8'), publicKey: readFileSync(`${path}.pub`, 'utf8').trim() };
}

export async function startSshd(dir: string, options: { execute?: { path: string } } = {}): Promise<TestSshd> {
  requireProgram('/usr/sbin/sshd', 'openssh-server');
  requireProgram('ssh-keygen', 'openssh-client');
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege-separation directory
  const port = await freePort();
  const hostKey = keygen(join(dir, 'host_ed25519'));
  const client = keygen(join(dir, 'client_ed25519'));
  writeFileSync(join(dir, 'authorized_keys'), `${client.publicKey}\n`);
  const log = join(dir, 'commands.log');
  const recorder = join(dir, 'record-command.sh');
  const run = options.execute ? `PATH='${options.execute.path}':"$PATH" exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"\n` : '';
  writeFileSync(recorder, `#!/bin/sh\necho "$SSH_ORIGINAL_COMMAND" >> '${log}'\n${run}`);
  chmodSync(recorder, 0o755);
  const config = join(dir, 'sshd_config');
  writeFileSync(config, [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host_ed25519')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, `PidFile ${join(dir, 'sshd.pid')}`,
    'StrictModes no', 'UsePAM no', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password', `AllowUsers ${userInfo().username}`, `ForceCommand ${recorder}`, '',
  ].join('\n'));
  const process = startProcess('/usr/sbin/sshd', ['-D', '-e', '-f', config]);
  await waitFor(`sshd on port ${port} (${process.output()})`, () => canConnect(port), 15_000);
  const [type, key] = hostKey.publicKey.split(' ');
  return {
    port, username: userInfo().username, clientPrivateKey: client.privateKey, process,
    knownHostsLine: `[127.0.0.1]:${port} ${type} ${key}`,
    commands: () => (existsSync(log) ? readFileSync(log, 'utf8') : ''),
  };
}
