/**
 * Host power models: watts as a function of CPU utilisation. Either linear between idle and
 * peak watts, or a SPECpower_ssj2008 table (watts at 0 %, 10 %, … 100 %) interpolated
 * linearly between its points, as CloudSim's PowerModelSpecPower does.
 */

export interface PowerModel {
  /** Watts at `utilisation` % of all cores (clamped to 0–100). */
  watts(utilisation: number): number;
  readonly idleWatts: number;
  readonly peakWatts: number;
  /** How the model was given, for reports: "linear 69–120 W" or the table's name. */
  readonly description: string;
}

/**
 * SPECpower tables CloudSim uses for its PlanetLab experiments (copied from
 * bench/planetlab/power-models.json; source: Cloudslab/cloudsim PowerModelSpecPowerHpProLiantMl110G4Xeon3040
 * and …G5Xeon3075).
 */
export const SPECPOWER_TABLES: Readonly<Record<string, readonly number[]>> = {
  'HP ProLiant ML110 G4 (Xeon 3040)': [86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117],
  'HP ProLiant ML110 G5 (Xeon 3075)': [93.7, 97, 101, 105, 110, 116, 121, 125, 129, 133, 135],
};

const clamp = (u: number) => Math.min(100, Math.max(0, u));

export function linearPower(idleWatts: number, peakWatts: number): PowerModel {
  return {
    idleWatts,
    peakWatts,
    description: `linear ${idleWatts}–${peakWatts} W`,
    watts: (u) => idleWatts + ((peakWatts - idleWatts) * clamp(u)) / 100,
  };
}

/** A table of 11 watts figures at 0 %, 10 %, … 100 % utilisation. */
export function tablePower(table: readonly number[], description = 'table'): PowerModel {
  if (table.length !== 11) throw new Error(`a power table needs 11 figures (0 %, 10 %, … 100 %), got ${table.length}`);
  return {
    idleWatts: table[0],
    peakWatts: table[10],
    description,
    watts: (u) => {
      const x = clamp(u) / 10;
      const i = Math.min(9, Math.floor(x));
      return table[i] + (table[i + 1] - table[i]) * (x - i);
    },
  };
}
