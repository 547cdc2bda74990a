/**
 * OpenIPMI's BMC simulator (`ipmi_sim`) on a free loopback UDP port, with one admin user.
 * Its chassis is a shell script (`chassis_control`) that keeps the power state in a file, so
 * tests can see — and the BMC reports — what ipmitool did. A "stuck" file makes the chassis
 * ignore power-on, as a machine that does not come back would.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { requireProgram, startProcess, type Started } from './processes.ts';

export interface SimulatedBmc {
  port: number;
  username: string;
  password: string;
  /** '1' (on) or '0' (off), as the chassis holds it. */
  power(): string;
  /** The chassis_control calls ipmi_sim made, one per line (`set power 1`, `set shutdown 1` …). */
  calls(): string;
  /** Makes the chassis ignore power-on requests from now on. */
  stick(): void;
  process: Started;
}

export async function startIpmiSim(dir: string): Promise<SimulatedBmc> {
  requireProgram('ipmi_sim', 'openipmi');
  requireProgram('ipmitool', 'ipmitool');
  const port = await freePort(); // a TCP port free now; UDP's namespace is separate but this one is loopback-only and ours
  const username = 'tide';
  const password = 'bmc-s3cret-pw';
  const state = join(dir, 'power');
  const log = join(dir, 'chassis.log');
  const stuck = join(dir, 'stuck');
  writeFileSync(state, '0\n');
  writeFileSync(log, '');
  const chassis = join(dir, 'chassis.sh');
  writeFileSync(chassis, `#!/bin/sh
# ipmi_sim's chassis_control protocol: "get power" prints "power:N"; "set power N" / "set shutdown 1" act.
echo "$*" >> '${log}'
case "$1" in
  get) echo "power:$(cat '${state}')" ;;
  set) shift
       while [ $# -gt 0 ]; do
         case "$1" in
           power) if [ "$2" = 1 ] && [ -e '${stuck}' ]; then :; else echo "$2" > '${state}'; fi ;;
           shutdown) echo 0 > '${state}' ;;
         esac
         shift 2
       done ;;
esac
`);
  chmodSync(chassis, 0o755);
  writeFileSync(join(dir, 'lan.conf'), `name "tide-test-bmc"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 ${port}
    priv_limit admin
    allowed_auths_callback md5
    allowed_auths_user md5
    allowed_auths_operator md5
    allowed_auths_admin md5
    guid a123456789abcdefa123456789abcdef
  endlan
  chassis_control "${chassis}"
  user 2 true "${username}" "${password}" admin 10 md5
`);
  writeFileSync(join(dir, 'bmc.emu'), 'mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\nmc_enable 0x20\n');
  mkdirSync(join(dir, 'state'), { recursive: true });
  const process = startProcess('ipmi_sim', ['-n', '-c', join(dir, 'lan.conf'), '-f', join(dir, 'bmc.emu'), '-s', join(dir, 'state')]);
  return {
    port, username, password, process,
    power: () => readFileSync(state, 'utf8').trim(),
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8') : ''),
    stick: () => writeFileSync(stuck, ''),
  };
}
