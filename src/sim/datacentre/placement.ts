/**
 * Where each VM starts, as CloudSim places them before its first scheduling interval. While
 * a VM is being instantiated CloudSim reserves its full MIPS and full RAM (Vm.
 * getCurrentRequestedMips, isBeingInstantiated), so the first placement is the only one
 * memory limits in CloudSim's PlanetLab runs.
 *
 * - `power-aware`: PowerVmAllocationPolicyMigrationAbstract.findHostForVm, what CloudSim's
 *   THR/MAD/LR runs use: among hosts that can take the VM (a free core and free MIPS for its
 *   full MIPS, free RAM for its full RAM), skip a non-empty host that the static-threshold
 *   fallback of overload detection (70 %, used while there is no history) calls overloaded,
 *   then pick the least increase of power. Two CloudSim details shape the result: a VM
 *   already created requests 0 MIPS until its cloudlet starts, so that 70 % check sees only
 *   the new VM; and hosts have not been updated yet, so the increase is measured from the
 *   power at 0 %: the emptiest host wins, which spreads the VMs one per host first.
 * - `first-fit`: PowerVmAllocationPolicySimple, what CloudSim's NPA and DVFS runs use.
 */
import type { DatacentreSetup, HostType, VmType } from './setup.ts';
import { hostTypeOf } from './setup.ts';
import { tablePower, type PowerModel } from '../power-model.ts';

/** A strategy, or the host index of each VM (where a recorded history had them). */
export type InitialPlacement = 'power-aware' | 'first-fit' | readonly number[];

/** The VMs do not fit on the hosts (too few hosts for the traces): the user's to fix. */
export class PlacementError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlacementError';
  }
}

const OVERLOAD_FALLBACK = 0.7;

interface Slot {
  type: HostType;
  power: PowerModel;
  capacity: number;
  usedMips: number;
  usedMiB: number;
}

function fits(slot: Slot, vm: VmType): boolean {
  return slot.type.coreMips >= vm.mips && slot.capacity - slot.usedMips >= vm.mips * vm.vcpus && slot.type.memoryMiB - slot.usedMiB >= vm.memoryMiB;
}

/** Host index for each VM (in order); throws when a VM fits nowhere, naming it. */
export function placeInitially(setup: DatacentreSetup, vmTypes: readonly VmType[], how: InitialPlacement, names?: readonly string[]): number[] {
  if (typeof how !== 'string') {
    if (how.length !== vmTypes.length || how.some((h) => !Number.isInteger(h) || h < 0 || h >= setup.hostCount)) {
      throw new PlacementError(`initial placement: expected a host index (0–${setup.hostCount - 1}) for each of the ${vmTypes.length} VMs`);
    }
    return [...how];
  }
  const slots: Slot[] = Array.from({ length: setup.hostCount }, (_, i) => {
    const type = hostTypeOf(setup, i);
    return { type, power: tablePower(type.watts, type.model), capacity: type.coreMips * type.cores, usedMips: 0, usedMiB: 0 };
  });
  return vmTypes.map((vm, v) => {
    const mips = vm.mips * vm.vcpus;
    let best = -1;
    let bestDiff = Infinity;
    for (let h = 0; h < slots.length; h++) {
      const slot = slots[h];
      if (!fits(slot, vm)) continue;
      if (how === 'first-fit') {
        best = h;
        break;
      }
      if (slot.usedMips !== 0 && mips / slot.capacity > OVERLOAD_FALLBACK) continue;
      const after = (slot.usedMips + mips) / slot.capacity;
      const diff = slot.power.watts(after * 100) - slot.power.watts(0);
      if (diff < bestDiff) {
        bestDiff = diff;
        best = h;
      }
    }
    if (best < 0) throw new PlacementError(`initial placement: VM ${names?.[v] ?? v} (${vm.mips} MIPS, ${vm.memoryMiB} MiB) fits on none of the ${setup.hostCount} hosts`);
    slots[best].usedMips += mips;
    slots[best].usedMiB += vm.memoryMiB;
    return best;
  });
}
