/**
 * Why the hypervisor driver could not do what it was asked. `reason` becomes a condition
 * reason on the PhysicalHost (ObservedHost.errorReason), so it is a fixed vocabulary.
 */
export type HypervisorErrorReason =
  | 'HostKeyUnknown'
  | 'HostKeyMismatch'
  | 'HostKeyRevoked'
  | 'AuthenticationFailed'
  | 'Unreachable'
  | 'MissingSecret'
  | 'InvalidSpec'
  | 'InvalidName'
  | 'BadReply'
  | 'CommandFailed'
  | 'Timeout';

export class HypervisorError extends Error {
  constructor(
    readonly reason: HypervisorErrorReason,
    message: string,
    /** The host (PhysicalHost name) the error is about, when there is one. */
    readonly host?: string,
  ) {
    super(message);
    this.name = 'HypervisorError';
  }
}

/** A virsh reply the driver could not make sense of: names the host and the command. */
export function badReply(host: string, command: string, detail: string): HypervisorError {
  return new HypervisorError('BadReply', `host ${host}: unexpected reply to \`${command}\`: ${detail}`, host);
}
