/**
 * `flock /tmp/tide-lab.lock node --import tsx bench/observe-lab.bench.ts [--hosts 4] [--guests 2]
 *   [--concurrency 4,16,32] [--seconds 20] [--sample-ms 1000]` (root; builds the lab)
 *
 * How many host observations a second one Tide replica sustains over real SSH + libvirt: the
 * lab's hosts (sshd and libvirtd in network namespaces, test/lab) each run `guests` small QEMU
 * guests; LibvirtSshDriver observes them in a loop with `concurrency` observations in flight
 * (spread over the hosts, so several share one pooled connection as channels) for `seconds`.
 * One observation is one SSH command (two `virsh domstats` samples `sample-ms` apart on the host,
 * host-sample.ts), so its latency is at least sample-ms.
 *
 * Reports per concurrency: observations/s, latency p50/max, and this process's CPU time per
 * observation (what the replica spends: ssh2's crypto, parsing). The lab's sshd and libvirtd
 * run on the same machine and compete for its cores: the CPU figure is the replica's share.
 * Last line: one JSON object with every row.
 */
import { parseArgs } from 'node:util';
import { LibvirtSshDriver } from '../src/hypervisor/libvirt-ssh-driver.ts';
import { startLab } from '../test/lab/lab.ts';

const { values: args } = parseArgs({
  options: {
    hosts: { type: 'string', default: '4' },
    guests: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '4,16,32' },
    seconds: { type: 'string', default: '20' },
    'sample-ms': { type: 'string', default: '1000' },
  },
});
const HOSTS = Array.from({ length: Number(args.hosts) }, (_, i) => `node${(i + 1) * 100}`);
const GUESTS = Number(args.guests);
const SECONDS = Number(args.seconds);
const SAMPLE_MS = Number(args['sample-ms']);
const LEVELS = args.concurrency!.split(',').map(Number);
if (LEVELS.some((c) => !(c > 0)) || !(SECONDS > 0) || HOSTS.length < 1) throw new Error('bad arguments: see the header of bench/observe-lab.bench.ts');
// sshd lets 10 sessions share one connection (MaxSessions): more in flight per host would be refused.
if (Math.max(...LEVELS) > HOSTS.length * 10) throw new Error(`--concurrency over ${HOSTS.length * 10} needs more --hosts (sshd's MaxSessions is 10 per connection)`);

const lab = await startLab({ hosts: HOSTS, cpuCores: 2 });
const rows: { concurrency: number; observations: number; failed: number; perSecond: number; latencyMs: { p50: number; max: number }; cpuMsPerObservation: number }[] = [];
try {
  for (const host of HOSTS) for (let g = 0; g < GUESTS; g++) await lab.startGuest(host, { name: `${host}-g${g}`, loadPercent: 10 });
  const targets = HOSTS.map((h) => lab.target(h));
  for (const concurrency of LEVELS) {
    const driver = new LibvirtSshDriver({ sampleIntervalMs: SAMPLE_MS, hostLoad: 'domainSum' });
    try {
      await Promise.all(targets.map((t) => driver.observeHost(t))); // connections open, outside the measurement
      const latencies: number[] = [];
      let failed = 0;
      const cpu = process.cpuUsage();
      const started = performance.now();
      const end = started + SECONDS * 1000;
      await Promise.all(
        Array.from({ length: concurrency }, async (_, worker) => {
          for (let i = 0; performance.now() < end; i++) {
            const t0 = performance.now();
            const seen = await driver.observeHost(targets[(worker + i) % targets.length]!);
            if (seen.error || seen.domains.length !== GUESTS) failed++;
            else latencies.push(performance.now() - t0);
          }
        }),
      );
      const wallS = (performance.now() - started) / 1000;
      const used = process.cpuUsage(cpu);
      const n = latencies.length + failed;
      latencies.sort((a, b) => a - b);
      const row = {
        concurrency,
        observations: n,
        failed,
        perSecond: Math.round((latencies.length / wallS) * 10) / 10,
        latencyMs: { p50: Math.round(latencies[Math.floor(latencies.length / 2)] ?? NaN), max: Math.round(latencies.at(-1) ?? NaN) },
        cpuMsPerObservation: Math.round(((used.user + used.system) / 1000 / Math.max(1, n)) * 100) / 100,
      };
      rows.push(row);
      console.log(`concurrency ${String(concurrency).padStart(3)}: ${row.perSecond} observations/s, ${row.failed} failed, latency p50 ${row.latencyMs.p50} ms max ${row.latencyMs.max} ms, ${row.cpuMsPerObservation} ms CPU per observation`);
    } finally {
      await driver.close();
    }
  }
  console.log(JSON.stringify({ accel: lab.accel, hosts: HOSTS.length, guestsPerHost: GUESTS, sampleMs: SAMPLE_MS, seconds: SECONDS, rows }));
} finally {
  await lab.stop();
}
