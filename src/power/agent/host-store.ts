/** Where the agent finds hosts' meters and writes their status: an interface, so the agent's logic tests without a server. */
import type { ScalingOverride } from '../meters/meter-scaling.ts';
import type { StatusWithConditions } from './meter-status.ts';

export interface MeteredHost {
  name: string;
  /** Lowercase `0x` + 16 hex digits. */
  meterId: string;
  override?: ScalingOverride;
}

export interface HostStore {
  listMeteredHosts(): Promise<MeteredHost[]>;
  /**
   * Reads the host's current status, asks `patchFor` for a merge patch of it and applies the
   * patch to the status subresource, retrying on a conflicting concurrent write.
   */
  patchStatus(name: string, patchFor: (current: StatusWithConditions | undefined) => object): Promise<void>;
}
