/**
 * CloudSim's SLA metrics (Beloglazov & Buyya 2012; Helper.getSlaTimePerActiveHost and
 * Helper.getSlaMetrics in Cloudslab/cloudsim examples/power), accumulated as the simulation
 * runs instead of from stored state histories. Each call describes one span of time during
 * which a host's (or VM's) allocation stayed as recorded at the span's start.
 *
 * - SLATAH: share of the time hosts were active (allocated MIPS > 0) during which they
 *   allocated less than was requested.
 * - PDM: MIPS requested but not allocated while VMs migrated, over all MIPS requested.
 * - SLAV = SLATAH × PDM; ESV = energy (kWh) × SLAV.
 */

export interface SlaMetrics {
  slatah: number;
  pdm: number;
  slav: number;
  /** CloudSim's "overall SLA violation": (requested − allocated) / requested over all VMs. */
  overall: number;
}

export class SlaAccumulator {
  private activeSeconds = 0;
  private violationSeconds = 0;
  private requestedMipsSeconds = 0;
  private allocatedMipsSeconds = 0;
  private migrationShortfall = 0;

  /** A host span of `seconds` that started with `allocated` and `requested` MIPS. */
  host(seconds: number, allocated: number, requested: number): void {
    if (!(allocated > 0)) return;
    this.activeSeconds += seconds;
    if (allocated < requested) this.violationSeconds += seconds;
  }

  /** A VM span, recorded on the host it runs from (its source while it migrates). */
  vm(seconds: number, allocated: number, requested: number, inMigration: boolean): void {
    this.requestedMipsSeconds += requested * seconds;
    this.allocatedMipsSeconds += allocated * seconds;
    if (inMigration && allocated < requested) this.migrationShortfall += (requested - allocated) * seconds;
  }

  result(): SlaMetrics {
    const slatah = this.activeSeconds > 0 ? this.violationSeconds / this.activeSeconds : 0;
    const requested = this.requestedMipsSeconds;
    const pdm = requested > 0 ? this.migrationShortfall / requested : 0;
    const overall = requested > 0 ? (requested - this.allocatedMipsSeconds) / requested : 0;
    return { slatah, pdm, slav: slatah * pdm, overall };
  }
}

/** ESV as CloudSim's papers report it: energy in kWh × SLAV (a fraction). */
export function esv(energyKWh: number, slav: number): number {
  return energyKWh * slav;
}
