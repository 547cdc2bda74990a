/**
 * `node --import tsx bench/decision-latency.bench.ts` (root; builds the lab): how long Tide takes
 * from deciding a migration to the migration starting, and how long each migration takes, with
 * the whole operator in the loop — embedded API server, informers, plan round, executor writing
 * the intent, real drivers — on the libvirt lab (test/e2e-lab/lab-world.ts).
 *
 * Scenario: BENCH_GUESTS (default 4) idle guests on node200 and one on node100; a policy lets
 * Tide consolidate, one migration at a time (maxConcurrentMigrations 1, so each is timed on its
 * own), then power node200 off over SSH. Per migration it reports, all from wall-clock stamps:
 *   decide→intent  plan made (snapshot time) → status.migration Running written (startedAt)
 *   intent→driver  intent written → HypervisorDriver.migrate() called
 *   driver→virsh   migrate() called → pre-check done, `virsh migrate` issued on the source
 *   decide→virsh   the sum: what Tide adds between deciding and the migration starting
 *   virsh→job      `virsh migrate` issued → libvirt's job seen running (polled every 500 ms,
 *                  so a job shorter than that may go unseen: then '?')
 *   virsh          `virsh migrate` issued → returned: the migration itself
 *   total          migrate() called → outcome observed on both hosts
 * With one migration at a time, decide→intent of the 2nd and later ones includes waiting for
 * the previous migration; the first one's is Tide's own latency.
 */
import { eventually, startLabWorld, type MigrationTiming } from '../test/e2e-lab/lab-world.ts';

const GUESTS = Number(process.env.BENCH_GUESTS ?? 4);

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)]!;
};
const span = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : b - a);
const segments: [string, (m: MigrationTiming) => number | undefined][] = [
  ['decide→intent', (m) => span(m.plannedAtMs, m.intentAtMs)],
  ['intent→driver', (m) => span(m.intentAtMs, m.driverCalledAtMs)],
  ['driver→virsh', (m) => span(m.driverCalledAtMs, m.commandIssuedAtMs)],
  ['decide→virsh', (m) => span(m.plannedAtMs, m.commandIssuedAtMs)],
  ['virsh→job', (m) => span(m.commandIssuedAtMs, m.jobStartedAtMs)],
  ['virsh', (m) => span(m.commandIssuedAtMs, m.commandDoneAtMs)],
  ['total', (m) => span(m.driverCalledAtMs, m.doneAtMs)],
];

const world = await startLabWorld({ hosts: ['node100', 'node200'], cpuCores: 1 });
try {
  const names = Array.from({ length: GUESTS }, (_, i) => `bench-${i + 1}`);
  await world.lab.startGuest('node100', { name: 'bench-0', loadPercent: 0 });
  for (const name of names) await world.lab.startGuest('node200', { name, loadPercent: 0 });
  await world.apply([
    world.physicalHost('node100', { standbyAllowed: false }),
    world.physicalHost('node200'),
    ...['bench-0', ...names].map((d) => world.placement(d)),
    world.policy({ overloadThresholdPercent: 60, consolidationThresholdPercent: 60, maxConcurrentMigrations: 1, dryRun: true }),
  ]);
  await world.startOperator();
  await world.waitForVmLoads('the guests to boot', (l) => Object.values(l).every((x) => x < 8), 240_000);
  await world.kubectl('patch', 'consolidationpolicy', 'lab', '--type=merge', '-p', '{"spec":{"dryRun":false}}');
  await world.kubectl('wait', '--for=jsonpath={.status.powerState}=Off', 'physicalhost/node200', '--timeout=300s');
  await eventually('every migration to be timed', async () => world.migrations.filter((m) => m.doneAtMs).length >= GUESTS, 30_000);

  const done = world.migrations.filter((m) => m.succeeded);
  console.log(`lab: ${world.lab.accel === 'kvm' ? 'KVM' : 'QEMU TCG'}; ${GUESTS} idle 96 MiB guests consolidated node200→node100, one migration at a time`);
  for (const [i, m] of done.entries()) {
    console.log(`#${i + 1} ${m.vm.padEnd(8)} ${segments.map(([label, f]) => `${label} ${String(f(m) ?? '?').padStart(5)} ms`).join('  ')}`);
  }
  console.log('\nmedian over the migrations (the first one only for decide→intent and decide→virsh):');
  for (const [label, f] of segments) {
    const list = label.startsWith('decide') ? done.slice(0, 1) : done;
    const values = list.map(f).filter((v): v is number => v !== undefined);
    console.log(`${label.padEnd(14)} ${String(median(values)).padStart(6)} ms  (min ${Math.min(...values)}, max ${Math.max(...values)})`);
  }
  console.log(JSON.stringify({ accel: world.lab.accel, guests: GUESTS, migrations: done }));
} finally {
  await world.stop();
}
