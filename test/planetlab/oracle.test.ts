import { test } from 'node:test';
import assert from 'node:assert/strict';
import { minimumWatts, minimumWattsWithMemory, oraclePools, retiredFrom } from '../../src/sim/oracle.ts';
import { CLOUDSIM_SETUP } from '../../src/sim/datacentre/setup.ts';

const pools = oraclePools(CLOUDSIM_SETUP);

test('the oracle fills the most efficient hosts first and adds the cheapest partial host', () => {
  // G5: 5,320 MIPS for 135 W (25.4 mW/MIPS) beats G4: 3,720 MIPS for 117 W (31.5 mW/MIPS).
  assert.deepEqual(pools.map((p) => [p.capacity, p.count]), [[5320, 400], [3720, 400]]);
  // 6,000 MIPS: one full G5 (135 W) + 680 MIPS, cheaper on a G4 at 18.3 % (92.05 W) than on a G5 at 12.8 % (98.1 W).
  const g4 = 89.4 + (92.6 - 89.4) * ((680 / 3720) * 10 - 1);
  assert.ok(Math.abs(minimumWatts(6000, pools) - (135 + g4)) < 1e-9);
  assert.equal(minimumWatts(0, pools), 0);
  assert.throws(() => minimumWatts(1e9, pools), /cannot carry/);
});

test('with memory enforced the oracle runs at least as many hosts as the RAM needs', () => {
  // 10 × 4,096 MiB of VMs need 10 hosts even for 1,000 MIPS: 10 G-any hosts at an even load.
  const withMemory = minimumWattsWithMemory(1000, 10 * 4096, pools);
  assert.ok(withMemory > 9 * 86, `${withMemory} W`);
  assert.ok(withMemory > minimumWatts(1000, pools));
});

test('a VM leaves (CloudSim) from the first update where its trace is 0 on both sides', () => {
  assert.equal(retiredFrom([5, 0, 3, 0, 0, 4]), 3);
  assert.equal(retiredFrom([0, 0, 3]), Infinity, 'the very first sample is before the first update');
  assert.equal(retiredFrom([5, 5, 0]), 2, 'the last sample repeats past the end of the trace');
});
