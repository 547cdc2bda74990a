/**
 * Tide's operator processes when things go wrong, as installed (see operator-paper.test.ts for
 * the set-up): two `tide run` replicas, the leader SIGKILLed; an operator SIGKILLed in the middle
 * of a migration and started again. On the real kube-apiserver both run as the chart's operator
 * ServiceAccount, so every Lease, status and Event request of the takeover and of the recovery
 * goes through the real authorizer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClusterWriter } from '../../src/controller/cluster.ts';
import { createLogger } from '../../src/controller/log.ts';
import { Operator } from '../../src/controller/operator.ts';
import { plan } from '../../src/planner/plan.ts';
import { SimClock } from '../../src/sim/clock.ts';
import { SimHypervisorDriver, SimPowerDriver } from '../../src/sim/drivers.ts';
import { createDataCentre } from '../../src/sim/run.ts';
import { loadScenario } from '../../src/sim/scenario.ts';
import { freezable, resourcesOf } from '../controller/harness.ts';
import { waitFor } from '../hypervisor/eventually.ts';
import { eventsOnceSent } from '../kube/events.ts';
import { forEachInstalledTier, NAMESPACE, type TideCluster } from './clusters.ts';
import { FAST_LEASE, noRefusals, REFUSED, startOperatorProcess, withLogsOnFailure } from './tide-processes.ts';

const eventually = <T>(what: string, probe: () => Promise<T | undefined | false | null>, timeoutMs = 90_000) => waitFor(what, probe, timeoutMs, 100);
const LEASE_SECONDS = Number.parseInt(FAST_LEASE.duration, 10);
const PAPER = ['-f', 'manifests/examples/paper/'];


forEachInstalledTier((cluster) => {
  const holder = async (c: TideCluster): Promise<string | undefined> => {
    const lease = await c.getJson('lease', 'tide-operator', '-n', NAMESPACE).catch(() => undefined);
    return lease?.spec?.holderIdentity;
  };

  test('leader failover: of two `tide run` replicas one leads; SIGKILL it and the standby takes the Lease, then does the consolidation', async (t) => {
    const began = Date.now();
    const c = await cluster();
    const replicas = Object.fromEntries(['replica-a', 'replica-b'].map((identity) =>
      [identity, startOperatorProcess({ scenario: 'paper-consolidation', speed: 20, kubeconfig: c.credentials.operator, identity, dataDir: c.dir, lease: FAST_LEASE })]));
    t.after(() => Promise.all(Object.values(replicas).map((r) => r.kill())));
    await withLogsOnFailure(Object.values(replicas), async () => {
      const first = await eventually('a leader', async () => {
        const h = await holder(c);
        return h && replicas[h]?.said(`${h} is the leader`) && h;
      });
      const leader = replicas[first]!;
      const standbyName = first === 'replica-a' ? 'replica-b' : 'replica-a';
      const standby = replicas[standbyName]!;
      // Several retry periods in which the standby must not (wrongly) start acting.
      await new Promise((r) => setTimeout(r, 2000));
      assert.ok(!standby.said(`${standbyName} is the leader`), 'the standby does not act while the leader renews');
      assert.ok(standby.said(`tide operator ${standbyName} started`), 'the standby is up, waiting');

      const killedAt = Date.now();
      await leader.kill();
      await eventually('the standby to take the Lease', async () => (await holder(c)) === standbyName && standby.said(`${standbyName} is the leader`), 30_000);
      const takeover = (Date.now() - killedAt) / 1000;
      // Lease duration plus a retry period or two, with slack for a busy 2-core machine.
      assert.ok(takeover < LEASE_SECONDS + 8, `took over ${takeover.toFixed(1)} s after the kill (lease ${LEASE_SECONDS} s)`);
      const lease = await c.getJson('lease', 'tide-operator', '-n', NAMESPACE);
      assert.equal(lease.spec.leaseTransitions, 1);

      // The new leader acts, as the same ServiceAccount: the paper's consolidation completes.
      await c.kubectlOk(['apply', ...PAPER]);
      await c.kubectlOk(['wait', '--for=jsonpath={.status.powerState}=Off', 'physicalhost/node100', '--timeout=120s']);
      const vms = (await c.getJson('vmp', '-n', 'paper')).items;
      assert.ok(vms.every((vm: any) => vm.status?.migration?.phase !== 'Running'), 'no migration left running');
      t.diagnostic(`standby took over ${takeover.toFixed(1)} s after the leader was killed (lease ${LEASE_SECONDS} s); as ${c.identities.operator}; ${((Date.now() - began) / 1000).toFixed(1)} s`);
      noRefusals(...Object.values(replicas));
    });
  });

  test('the operator SIGKILLed mid-migration and started again: the interrupted migration is settled, node100 goes off, no VM lost', async (t) => {
    const began = Date.now();
    const c = await cluster();
    // Slow enough to kill the operator while a migration runs: one takes 5.6 s of wall time (at
    // speed 5, 2.2 s, the kill came after the first one finished once in 96 runs, 4 files at a time).
    const first = startOperatorProcess({ scenario: 'paper-consolidation', speed: 2, kubeconfig: c.credentials.operator, identity: 'tide-operator-a', dataDir: c.dir, lease: FAST_LEASE });
    const processes = [first];
    t.after(() => Promise.all(processes.map((p) => p.kill())));
    await withLogsOnFailure(processes, async () => {
      await eventually('the first operator to lead', async () => first.said('tide-operator-a is the leader'));
      await c.kubectlOk(['apply', ...PAPER]);
      const running = await eventually('a migration to be running', async () =>
        (await c.getJson('vmp', '-n', 'paper')).items.find((vm: any) => vm.status?.migration?.phase === 'Running'));
      await first.kill();
      // `tide run --simulate` keeps its data centre in the process: the kill ends the simulated
      // migration too, and the restarted operator meets the data centre as it was before it —
      // what libvirt does when the client driving a migration dies. (A migration that finishes
      // while the operator is down needs a data centre that outlives the operator:
      // test/controller/e2e-resilience.test.ts, in-process.) So nothing else may have moved yet.
      const atKill = (await c.getJson('vmp', '-n', 'paper')).items;
      assert.deepEqual(atKill.filter((vm: any) => vm.status?.migration?.phase === 'Succeeded').map((vm: any) => vm.metadata.name), [],
        'killed before any migration completed (else the restarted data centre would undo it)');
      assert.equal(atKill.find((vm: any) => vm.metadata.name === running.metadata.name).status.migration.phase, 'Running', 'the kill left the record unfinished');

      const second = startOperatorProcess({ scenario: 'paper-consolidation', speed: 20, kubeconfig: c.credentials.operator, identity: 'tide-operator-b', dataDir: c.dir, lease: FAST_LEASE });
      processes.push(second);
      const [event] = await eventsOnceSent(c.getJson, `a MigrationInterrupted event for ${running.metadata.name}`, (e) =>
        e.reason === 'MigrationInterrupted' && e.involvedObject.namespace === 'paper' && e.involvedObject.name === running.metadata.name);
      assert.match(event.message, /still running on node100/);
      assert.ok(second.said('tide-operator-b is the leader'), 'the second operator took over the Lease the killed one held');

      await c.kubectlOk(['wait', '--for=jsonpath={.status.powerState}=Off', 'physicalhost/node100', '--timeout=120s']);
      const vms = await eventually('every VM observed on node200', async () => {
        const list = (await c.getJson('vmp', '-n', 'paper')).items;
        return list.length === 8 && list.every((vm: any) => vm.status?.host === 'node200') && list;
      });
      const interrupted = vms.find((vm: any) => vm.metadata.name === running.metadata.name);
      assert.equal(interrupted.status.migration.phase, 'Succeeded', 'moved again after the settlement');
      assert.notEqual(interrupted.status.migration.id, running.status.migration.id, 'by a new migration, not the interrupted one');
      // The host's list comes from the next observation of node200, not from the migrations'
      // records: it can trail the placements' status.host by a round.
      await eventually('node200 to list every domain', async () => {
        const node200 = await c.getJson('physicalhost', 'node200');
        return JSON.stringify(node200.status?.vms) === JSON.stringify(['vm-1', 'vm-2', 'vm-3', 'vm-4', 'vm-5', 'vm-6', 'vm-7', 'vm-8']);
      });
      t.diagnostic(`killed while ${running.metadata.name} migrated; as ${c.identities.operator}; ${((Date.now() - began) / 1000).toFixed(1)} s`);
      noRefusals(first, second);
    });
  });

  test('the operator dies mid-migration and the migration finishes meanwhile: the next operator records it as recovered (in-process, so the data centre outlives the operator)', async (t) => {
    const began = Date.now();
    const c = await cluster();
    const scenario = loadScenario('paper-consolidation');
    const clock = new SimClock(createDataCentre(scenario));
    let stopClock = clock.runRealtime(5);
    const lines: string[] = [];
    const log = createLogger({ format: 'json', write: (line) => lines.push(line) });
    // Each operator with its own client of the component's credentials, as a new pod would have.
    const kubeConfig = () => {
      const kc = new KubeConfig();
      kc.loadFromFile(c.credentials.operator);
      return kc;
    };
    const operatorWith = (name: string, parts: Partial<ConstructorParameters<typeof Operator>[0]> = {}) => {
      const kc = kubeConfig();
      return new Operator({
        kubeConfig: kc, clock, log, planner: plan, observeIntervalMs: 30_000,
        hypervisor: new SimHypervisorDriver(clock), power: new SimPowerDriver(clock), writer: new KubeClusterWriter(kc, name),
        ...parts,
      });
    };
    // The first operator "dies" by hanging for ever on every call it makes: no leader election
    // here, since a Lease renewer outside the frozen parts would keep a dead operator leading.
    const writer = freezable(new KubeClusterWriter(kubeConfig(), 'first'));
    const hypervisor = freezable(new SimHypervisorDriver(clock));
    const power = freezable(new SimPowerDriver(clock));
    const first = operatorWith('first', { writer: writer.value, hypervisor: hypervisor.value, power: power.value });
    let second: Operator | undefined;
    t.after(async () => {
      await second?.stop();
      // A dead process's watches end with it; the frozen operator's informers are the one part
      // freezing does not stop (its stop() waits for ever on its frozen round).
      void first.stop();
      await (first as unknown as { informers: { stop(): Promise<void> } }).informers.stop();
      stopClock();
    });
    await first.start();
    const file = `${c.dir}/paper-consolidation.yaml`;
    writeFileSync(file, resourcesOf(scenario).map((o) => stringify(o)).join('---\n'));
    await c.kubectlOk(['apply', '-f', file]);
    // On record, and under way in the data centre: the record is written (and an Event) before
    // the driver is called, and a driver call frozen before it began would be no migration at all.
    const running = await eventually('a migration to be running', async () => {
      const vm = (await c.getJson('vmp')).items.find((v: any) => v.status?.migration?.phase === 'Running');
      return vm && clock.dc.vms.get(vm.spec.domain)?.migration && vm;
    });
    // Dead, not stopped: stop() would abort the term, and the abort reaches the migration in the
    // data centre — a process that dies sends no abort.
    writer.freeze();
    hypervisor.freeze();
    power.freeze();
    const vmsBefore = clock.dc.vms.size;

    second = operatorWith('second');
    await second.start();
    const [event] = await eventsOnceSent(c.getJson, `a MigrationRecovered event for ${running.metadata.name}`, (e) =>
      e.reason === 'MigrationRecovered' && e.involvedObject.name === running.metadata.name)
      .catch((err) => {
        console.error(lines.slice(-40).join('\n'));
        throw err;
      });
    assert.match(event.message, /found running on node200 after the operator restarted/);
    const vm = await c.getJson('vmp', running.metadata.name);
    assert.deepEqual([vm.status.migration.id, vm.status.migration.phase], [running.status.migration.id, 'Succeeded'], 'the same record, settled as done');
    // The rest of the consolidation needs no slow motion.
    stopClock();
    stopClock = clock.runRealtime(20);

    await c.kubectlOk(['wait', '--for=jsonpath={.status.powerState}=Off', 'physicalhost/node100', '--timeout=120s']);
    assert.equal(clock.dc.vms.size, vmsBefore);
    for (const v of clock.dc.vms.values()) assert.equal(v.host.spec.name, 'node200', `${v.spec.name} runs on node200`);
    t.diagnostic(`killed while ${running.metadata.name} migrated; as ${c.identities.operator}; ${((Date.now() - began) / 1000).toFixed(1)} s`);
    assert.deepEqual(lines.filter((l) => REFUSED.test(l)), [], 'no request was refused');
  });
});
