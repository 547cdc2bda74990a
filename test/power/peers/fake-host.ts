/**
 * Stand-ins for a hypervisor host's `virsh` and `systemctl`, put first on PATH of the test sshd's
 * sessions (startSshd's `execute`), so that Tide's remote scripts run for real against a host
 * whose libvirt and power button the test controls — and `systemctl poweroff` only writes a line.
 *
 * `virsh` records its arguments (one per line, then an end mark), then: fails as an unreachable libvirtd
 * does when `failVirsh` is set; answers `list` with the domains `setDomains` gave, one per line
 * and a blank line (as virsh --name prints them) — whatever the state filters, which the test
 * checks in `virshCalls()` (real libvirt's filtering is checked on the lab); refuses anything else.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface FakeHost {
  /** The folder to put first on PATH. */
  bin: string;
  setDomains(names: string[]): void;
  /** virsh fails with this message (on stderr, exit 1) until called with undefined. */
  failVirsh(message: string | undefined): void;
  /** Each virsh call's arguments. */
  virshCalls(): string[][];
  /** How many times `systemctl poweroff` ran. */
  poweroffs(): number;
}

const END = '@@end-of-call';

export function fakeHost(dir: string): FakeHost {
  const bin = join(dir, 'fake-bin');
  mkdirSync(bin, { recursive: true });
  const domains = join(dir, 'virsh-domains');
  const failure = join(dir, 'virsh-failure');
  const calls = join(dir, 'virsh-calls');
  const poweroffs = join(dir, 'poweroffs');
  writeFileSync(domains, '');
  const q = (path: string) => `'${path}'`;
  writeFileSync(
    join(bin, 'virsh'),
    [
      '#!/bin/sh',
      `for a in "$@"; do printf '%s\\n' "$a"; done >> ${q(calls)}`,
      `echo ${END} >> ${q(calls)}`,
      `if [ -e ${q(failure)} ]; then cat ${q(failure)} >&2; exit 1; fi`,
      'for a in "$@"; do',
      '  if [ "$a" = list ]; then',
      `    cat ${q(domains)}; echo; exit 0`,
      '  fi',
      'done',
      'echo "fake virsh: not a command this stand-in knows: $*" >&2',
      'exit 2',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(bin, 'systemctl'),
    ['#!/bin/sh', `[ "$*" = poweroff ] || { echo "fake systemctl: only 'poweroff': $*" >&2; exit 1; }`, `echo poweroff >> ${q(poweroffs)}`, ''].join('\n'),
  );
  chmodSync(join(bin, 'virsh'), 0o755);
  chmodSync(join(bin, 'systemctl'), 0o755);
  const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : '');
  return {
    bin,
    setDomains: (names) => writeFileSync(domains, names.map((n) => `${n}\n`).join('')),
    failVirsh: (message) => (message === undefined ? rmSync(failure, { force: true }) : writeFileSync(failure, `${message}\n`)),
    virshCalls: () =>
      read(calls)
        .split(`${END}\n`)
        .filter((c) => c !== '')
        .map((c) => c.slice(0, -1).split('\n')),
    poweroffs: () => read(poweroffs).split('\n').filter(Boolean).length,
  };
}
