import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirtyMiBps, linkMiBps, migrateAlone, PreCopyNetwork, REALISTIC_PRECOPY, type PreCopyParams } from '../../src/sim/datacentre/migration-model.ts';

const P = REALISTIC_PRECOPY;
const LINK = linkMiBps(1000, P); // 62.5 MiB/s: half of 1 Gbit/s, as CloudSim
const near = (actual: number, expected: number, tolerance = 1e-6) => assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} ≠ ${expected}`);

test('an idle VM is one round: set-up plus its memory over the link, no downtime', () => {
  assert.equal(LINK, 62.5);
  const idle = migrateAlone(1740, 0, LINK);
  near(idle.endsAt, P.setupSeconds + 27.84);
  assert.deepEqual([idle.rounds, idle.downtimeSeconds, idle.forced], [1, 0, false]);
  near(idle.sentMiB, 1740);
});

test('a busy VM takes longer: each round resends what it dirtied, until the rest fits the downtime limit', () => {
  const busy = migrateAlone(1740, dirtyMiBps(100, 1, P), LINK);
  const idle = migrateAlone(1740, 0, LINK);
  assert.ok(busy.endsAt > idle.endsAt && busy.rounds > 1 && busy.sentMiB > 1740, JSON.stringify(busy));
  // Round 1 sends 1,740 MiB in 27.84 s; 3.7 × 27.84 = 103 MiB dirtied, more than 0.3 s × 62.5 MiB/s
  // = 18.75 MiB, so round 2 sends them (1.648 s) while 6.1 MiB are dirtied: stop-and-copy.
  const r2 = 3.7 * 27.84;
  const r3 = 3.7 * (r2 / LINK);
  near(busy.endsAt, P.setupSeconds + (1740 + r2 + r3) / LINK);
  assert.equal(busy.rounds, 2);
  near(busy.downtimeSeconds, r3 / LINK);
  assert.ok(busy.downtimeSeconds <= P.downtimeLimitSeconds && !busy.forced);
  // Busier is slower still.
  assert.ok(migrateAlone(1740, 20, LINK).endsAt > busy.endsAt);
});

test('two migrations out of one host share its link: each takes about twice as long', () => {
  const alone = migrateAlone(1000, 0, LINK).endsAt - P.setupSeconds;
  const network = new PreCopyNetwork(() => LINK);
  network.start(0, { id: 1, source: 0, destination: 1, memoryMiB: 1000, dirtyMiBps: 0 });
  network.start(0, { id: 2, source: 0, destination: 2, memoryMiB: 1000, dirtyMiBps: 0 });
  const ends = network.predict();
  assert.equal(ends.length, 2);
  for (const e of ends) near(e.endsAt - P.setupSeconds, 2 * alone);
  // In and out share it too: one into host 0 while one leaves it.
  const both = new PreCopyNetwork(() => LINK);
  both.start(0, { id: 1, source: 0, destination: 1, memoryMiB: 1000, dirtyMiBps: 0 });
  both.start(0, { id: 2, source: 2, destination: 0, memoryMiB: 1000, dirtyMiBps: 0 });
  for (const e of both.predict()) near(e.endsAt - P.setupSeconds, 2 * alone);
  // A busy VM pays more for sharing: at half the rate, twice the pages are dirtied per round.
  const busyAlone = migrateAlone(1000, 10, LINK).endsAt - P.setupSeconds;
  const shared = new PreCopyNetwork(() => LINK);
  shared.start(0, { id: 1, source: 0, destination: 1, memoryMiB: 1000, dirtyMiBps: 10 });
  shared.start(0, { id: 2, source: 0, destination: 2, memoryMiB: 1000, dirtyMiBps: 10 });
  for (const e of shared.predict()) assert.ok(e.endsAt - P.setupSeconds > 2 * busyAlone, `${e.endsAt} vs 2 × ${busyAlone}`);
});

test('rates are max-min fair, and a migration that ends frees its share for the rest', () => {
  // 0→1 (500 MiB) and 0→2 (1,000 MiB) share host 0: 31.25 MiB/s each until the first ends at
  // 16 s; the second then has 500 MiB left at 62.5 MiB/s: 8 s more.
  const network = new PreCopyNetwork(() => LINK, { ...P, setupSeconds: 0 });
  network.start(0, { id: 1, source: 0, destination: 1, memoryMiB: 500, dirtyMiBps: 0 });
  network.start(0, { id: 2, source: 0, destination: 2, memoryMiB: 1000, dirtyMiBps: 0 });
  const ends = new Map(network.predict().map((e) => [e.id, e.endsAt]));
  near(ends.get(1)!, 16);
  near(ends.get(2)!, 24);
  // advance() ends them at the times predict() said, and keeps what is still running.
  assert.deepEqual(network.advance(20).map((e) => e.id), [1]);
  assert.equal(network.inFlight, 1);
  near(network.advance(30)[0].endsAt, 24);
  assert.equal(network.inFlight, 0);

  // Three leave host 0 (20.83 MiB/s each); 4→1 shares host 1 with one of them and gets the
  // 41.67 MiB/s that one cannot use, not an equal half: its 416.67 MiB take 10 s.
  const fair = new PreCopyNetwork(() => LINK, { ...P, setupSeconds: 0 });
  for (const [id, destination] of [[1, 1], [2, 2], [3, 3]]) fair.start(0, { id, source: 0, destination, memoryMiB: 1000, dirtyMiBps: 0 });
  fair.start(0, { id: 4, source: 4, destination: 1, memoryMiB: (LINK * 2) / 3 * 10, dirtyMiBps: 0 });
  near(fair.predict().find((e) => e.id === 4)!.endsAt, 10);
});

test('a VM that dirties faster than its link never converges: the stop-and-copy is forced after the round cap, with a long downtime', () => {
  const params: PreCopyParams = { ...P, maxSentFactor: Infinity };
  const hot = migrateAlone(1000, 2 * LINK, LINK, params);
  assert.equal(hot.rounds, P.maxRounds);
  assert.ok(hot.forced);
  // Every round after the first resends the whole memory (dirtied twice over): the pause sends it all.
  near(hot.downtimeSeconds, 1000 / LINK);
  near(hot.endsAt, P.setupSeconds + (P.maxRounds + 1) * (1000 / LINK));
  // With Xen's volume cap (3 × memory sent) it gives up sooner.
  const capped = migrateAlone(1000, 2 * LINK, LINK);
  assert.deepEqual([capped.rounds, capped.forced], [3, true]);
  assert.ok(capped.downtimeSeconds > P.downtimeLimitSeconds);
});

test('bad input is refused with what and where', () => {
  const network = new PreCopyNetwork(() => LINK);
  network.start(5, { id: 1, source: 0, destination: 1, memoryMiB: 10, dirtyMiBps: 0 });
  assert.throws(() => network.start(5, { id: 1, source: 0, destination: 2, memoryMiB: 10, dirtyMiBps: 0 }), /migration 1 is already in flight/);
  assert.throws(() => network.start(1, { id: 2, source: 0, destination: 2, memoryMiB: 10, dirtyMiBps: 0 }), /starts at 1 s, before the network's time 5 s/);
  assert.throws(() => network.start(5, { id: 3, source: 4, destination: 4, memoryMiB: 10, dirtyMiBps: 0 }), /same source and destination \(host 4\)/);
  assert.throws(() => network.start(5, { id: 4, source: 0, destination: 2, memoryMiB: -1, dirtyMiBps: 0 }), /must be ≥ 0/);
});
