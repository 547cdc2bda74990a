/**
 * `ipmitool -I lanplus` as a child process. The password travels in the IPMI_PASSWORD
 * environment variable (`-E`), never on the command line where `ps` would show it, and is
 * never part of an error message (nor is the username, which comes from the same Secret);
 * arguments go as an array (execFile, no shell).
 */
import { execFile } from 'node:child_process';

export interface IpmiTarget {
  address: string;
  port: number;
  username: string;
  password: string;
}

export type ChassisPowerAction = 'on' | 'off' | 'soft' | 'status';

/** Runs a program with arguments and extra environment; resolves to stdout. */
export type ProgramRunner = (file: string, args: string[], env: Record<string, string>, timeoutMs: number) => Promise<string>;

export const execFileRunner: ProgramRunner = (file, args, env, timeoutMs) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { env: { ...process.env, ...env }, timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) {
        const why = stderr.trim() || (err as NodeJS.ErrnoException).code || err.message;
        reject(new Error(`${file} ${args.join(' ')}: ${why}`));
      } else resolve(stdout);
    });
  });

export interface IpmiToolOptions {
  run?: ProgramRunner;
  /**
   * RMCP+ cipher suite. Naming one spares ipmitool its Get Channel Cipher Suites probe, which
   * some BMCs (and ipmi_sim) do not answer; 3 (HMAC-SHA1, AES-128) is the one nearly every BMC has.
   */
  cipherSuite?: number;
  timeoutMs?: number;
}

export class IpmiTool {
  constructor(private readonly options: IpmiToolOptions = {}) {}

  async chassisPower(target: IpmiTarget, action: ChassisPowerAction): Promise<string> {
    const args = [
      '-I', 'lanplus', '-C', String(this.options.cipherSuite ?? 3),
      '-H', target.address, '-p', String(target.port), '-U', target.username, '-E',
      '-N', '3', '-R', '2',
      'chassis', 'power', action,
    ];
    const run = this.options.run ?? execFileRunner;
    try {
      return await run('ipmitool', args, { IPMI_PASSWORD: target.password }, this.options.timeoutMs ?? 30_000);
    } catch (err) {
      // The runner's message quotes the command line, where -U carries the username from the Secret.
      const shown = args.map((arg, i) => (args[i - 1] === '-U' ? '***' : arg));
      throw new Error((err as Error).message.replace(args.join(' '), shown.join(' ')));
    }
  }

  /** The chassis power state the BMC reports. */
  async powerStatus(target: IpmiTarget): Promise<'on' | 'off' | 'unknown'> {
    const out = await this.chassisPower(target, 'status');
    return /Chassis Power is on/i.test(out) ? 'on' : /Chassis Power is off/i.test(out) ? 'off' : 'unknown';
  }
}
