/**
 * `node --import tsx bench/migration.bench.ts` (root; builds the lab): live-migrates real guests
 * back and forth between two lab hosts through LibvirtSshDriver and reports, per migration,
 *   - total: from driver.migrate() being called until the outcome was observed on both hosts;
 *   - start: from the call until the migration job was seen running on the source — what the
 *     driver adds before anything moves (SSH connection or channel, the pre-check of the
 *     domain's state, virsh start-up, libvirt's p2p connection to the destination);
 *   - job: from the job's start until `virsh migrate` returned.
 * The first migration is "cold" (it opens the SSH connection to the source); later ones reuse
 * the pooled connections. BENCH_MIGRATIONS (default 6) round trips' worth of moves,
 * BENCH_GUEST_MIB (default 96) guest memory, BENCH_GUEST_LOAD (default 40) its CPU load.
 */
import { LibvirtSshDriver } from '../src/hypervisor/libvirt-ssh-driver.ts';
import type { DetailedMigrationOutcome } from '../src/hypervisor/migration.ts';
import { startLab } from '../test/lab/lab.ts';

const MIGRATIONS = Number(process.env.BENCH_MIGRATIONS ?? 6);
const GUEST_MIB = Number(process.env.BENCH_GUEST_MIB ?? 96);
const GUEST_LOAD = Number(process.env.BENCH_GUEST_LOAD ?? 40);

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)];
};
const summary = (label: string, values: number[]) =>
  `${label.padEnd(7)} median ${String(median(values)).padStart(6)} ms  min ${String(Math.min(...values)).padStart(6)} ms  max ${String(Math.max(...values)).padStart(6)} ms`;

const lab = await startLab({ hosts: ['node100', 'node200'] });
const driver = new LibvirtSshDriver({ progressPollMs: 100 });
const outcomes: (DetailedMigrationOutcome & { cold: boolean })[] = [];
try {
  console.log(`lab up (${lab.accel === 'kvm' ? 'KVM' : 'QEMU TCG'}); guest ${GUEST_MIB} MiB at ${GUEST_LOAD} % CPU; ${MIGRATIONS} migrations`);
  await lab.startGuest('node100', { name: 'bench-vm', memoryMiB: GUEST_MIB, loadPercent: GUEST_LOAD });
  let [from, to] = ['node100', 'node200'];
  for (let i = 0; i < MIGRATIONS; i++) {
    const outcome = await driver.migrate({ domain: 'bench-vm', from: lab.target(from), to: lab.target(to), timeoutMs: 300_000 });
    if (!outcome.succeeded) throw new Error(`migration ${i + 1} ${from}→${to} failed: ${outcome.error}`);
    outcomes.push({ ...outcome, cold: i === 0 });
    const t = outcome.timings;
    console.log(
      `#${i + 1} ${from}→${to}${i === 0 ? ' (cold)' : '       '}  total ${String(outcome.durationMs).padStart(5)} ms  start ${String(t.jobStartedAfterMs ?? '?').padStart(5)} ms (pre-check ${String(t.precheckMs).padStart(4)} ms)  job ${String(t.jobMs ?? '?').padStart(5)} ms`,
    );
    [from, to] = [to, from];
  }
  const warm = outcomes.filter((o) => !o.cold);
  const pick = (list: typeof outcomes, f: (o: DetailedMigrationOutcome) => number | undefined) => list.map(f).filter((v): v is number => v !== undefined);
  console.log('\nwarm (pooled SSH connections):');
  console.log(summary('total', pick(warm, (o) => o.durationMs)));
  console.log(summary('start', pick(warm, (o) => o.timings.jobStartedAfterMs)));
  console.log(summary('check', pick(warm, (o) => o.timings.precheckMs)));
  console.log(summary('job', pick(warm, (o) => o.timings.jobMs)));
  console.log('cold (first migration, SSH connection opened):');
  console.log(summary('start', pick(outcomes.filter((o) => o.cold), (o) => o.timings.jobStartedAfterMs)));
  console.log(
    JSON.stringify({
      accel: lab.accel,
      guestMiB: GUEST_MIB,
      migrations: outcomes.map((o) => ({ from: o.from, to: o.to, cold: o.cold, totalMs: o.durationMs, ...o.timings })),
    }),
  );
} finally {
  await driver.close();
  await lab.stop();
}
