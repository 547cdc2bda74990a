/**
 * The paper's overloading event (§3.2.1): when a host's load passes Th1 the operator decides
 * at once — at its next observation — instead of waiting for the periodic round, powers a
 * standby host on, and balances onto it once it is up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, resourcesOf, startWorld } from './harness.ts';

test('load past Th1 powers the standby host on before the periodic round, then the hosts are balanced', async (t) => {
  const world = await startWorld(new URL('./fixtures/overload.yaml', import.meta.url).pathname, 30);
  t.after(() => world.stop());
  const startMs = world.clock.now();
  await world.startOperator();
  await world.applyObjects(resourcesOf(world.scenario));
  await world.kubectl('wait', '--for=jsonpath={.status.powerState}=Off', 'physicalhost/node100', '--timeout=60s');

  const node100 = await eventually('node100 to be powered on', async () => {
    const h = await world.getJson('physicalhost', 'node100');
    return h.status?.powerAction?.type === 'PowerOn' && h.status.powerAction.phase === 'Succeeded' && h;
  }, 90_000);
  assert.equal(node100.status.powerAction.reason, 'Overloaded');
  assert.match(node100.status.powerAction.message, /> Th1 80 %/);
  const decidedAfterS = (Date.parse(node100.status.powerAction.startedAt) - startMs) / 1000;
  // The load jumps at 300 s; observations run every 30 s; the periodic round would come at 600 s.
  assert.ok(decidedAfterS >= 300 && decidedAfterS < 420, `decided ${decidedAfterS.toFixed(0)} s into the run`);

  // The next round spreads the load onto the woken host.
  const loads = await eventually('both hosts to carry load', async () => {
    const list = await world.getJson('physicalhosts');
    const byName = Object.fromEntries(list.items.map((h: any) => [h.metadata.name, h.status?.cpuLoadPercent]));
    return byName.node100 > 0 && Math.abs(byName.node100 - byName.node200) < 10 && byName;
  }, 90_000);
  assert.ok(loads.node200 < 80, `node200 back under Th1 (${loads.node200} %)`);
});
