/**
 * A Secret a host names that Tide cannot read is logged when that changes — once, when it goes
 * missing, and once when it can be read again — not every round for every host: a simulated
 * run's log was nothing but such lines, and the lines that said what the operator did were lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Logger } from '../../src/controller/log.ts';
import { eventually, resourcesOf, startWorld } from './harness.ts';

test('a Secret that cannot be read is warned about once per host, and its return is logged once', async (t) => {
  const world = await startWorld('paper-consolidation');
  t.after(() => world.stop());
  const lines: string[] = [];
  const log: Logger = { info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`), debug() {} };
  const objects = resourcesOf(world.scenario).map((o: any) =>
    o.kind === 'PhysicalHost' ? { ...o, spec: { ...o.spec, ssh: { user: 'root', secretRef: { name: 'tide-ssh', namespace: 'tide-system' } } } } : o);
  await world.applyObjects(objects);
  await world.startOperator({ log, observeIntervalMs: 300 });
  const missing = (host: string) => lines.filter((l) => l.startsWith(`warn cannot read Secret tide-system/tide-ssh for ${host}:`));
  const rounds = () => lines.filter((l) => l.startsWith('info plan of ')).length;
  // Several observation rounds (300 ms apart) with the Secret missing.
  await eventually('rounds with the Secret missing', async () => missing('node100').length > 0 && missing('node200').length > 0 && rounds() >= 1);
  const seen = lines.length;
  await new Promise((r) => setTimeout(r, 2000));
  assert.deepEqual([missing('node100').length, missing('node200').length], [1, 1], lines.slice(-20).join('\n'));
  assert.ok(lines.length - seen < 20, `the log went on filling: ${lines.slice(seen).join('\n')}`);

  await world.kubectl('-n', 'tide-system', 'create', 'secret', 'generic', 'tide-ssh', '--from-literal=known_hosts=# simulated');
  const back = (host: string) => lines.filter((l) => l === `info Secret tide-system/tide-ssh for ${host} is read again`);
  await eventually('the Secret read again', async () => back('node100').length === 1 && back('node200').length === 1);
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual([missing('node100').length, missing('node200').length, back('node100').length, back('node200').length], [1, 1, 1, 1]);
});
