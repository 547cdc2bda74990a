/**
 * The paper's two experiments with Tide as it is installed: `tide run --simulate …` and
 * `tide zigbee-agent` as processes, each with its own credentials, driven only by kubectl —
 * against the embedded API server and against a real kube-apiserver, where the credentials are
 * tokens of the chart's ServiceAccounts and the real RBAC authorizer enforces the chart's roles
 * (= src/controller/permissions.ts). A request the server refuses fails the test: the processes'
 * logs are scanned for it, and what the refused request would have written is asserted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { stringify } from 'yaml';
import { loadScenario } from '../../src/sim/scenario.ts';
import { resourcesOf } from '../controller/harness.ts';
import { startMosquitto } from '../power/peers/mosquitto.ts';
import { OPERATOR_NAMESPACE_RULES, OPERATOR_RULES } from '../../src/controller/permissions.ts';
import { forEachInstalledTier, NAMESPACE, serviceAccountKubeconfig, type TideCluster } from './clusters.ts';
import { noRefusals, startAgentProcess, startOperatorProcess, withLogsOnFailure } from './tide-processes.ts';
import { eventually, leaderStarted, paper, paperCluster, startPaperOperator } from './paper-hosts.ts';
import { tideWritingStdout } from '../cli/in-process.ts';
import { eventsOnceSent } from '../kube/events.ts';

/** The hosts' Secret, so the operator's `get secrets` is exercised (and allowed) as it would be in a cluster. */
async function sshSecret(c: TideCluster): Promise<void> {
  const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tide-ssh', namespace: NAMESPACE }, stringData: { known_hosts: '# simulated hosts: not used' } };
  await c.kubectlOk(['apply', '-f', '-'], JSON.stringify(secret));
}

forEachInstalledTier((cluster, tier) => {

  test('consolidation (paper §4.1) by kubectl alone — four idle VMs moved, node100 powered off, 127 W → 58 W', async (t) => {
    const began = Date.now();
    const c = await cluster();
    const operator = startPaperOperator(c, t);
    await withLogsOnFailure([operator], async () => {
      await sshSecret(c);
      await leaderStarted(operator);
      await c.kubectlOk(['apply', ...paper('00-namespace.yaml'), ...paper('hosts.yaml'), ...paper('vms.yaml')]);
      // No meter agent in this test: without spec.meter the operator writes the watts its
      // (simulated) hypervisors report, so the paper's figures can be read with kubectl.
      for (const host of ['node100', 'node200']) {
        await c.kubectlOk(['patch', 'physicalhost', host, '--type=json', '-p', '[{"op":"remove","path":"/spec/meter"}]']);
      }
      // Observed before any policy lets Tide act: the paper's starting point.
      const wattsOn = async () => {
        const hosts = (await c.getJson('physicalhosts')).items;
        return hosts.filter((h: any) => h.status?.powerState === 'On').reduce((sum: number, h: any) => sum + (h.status?.watts ?? NaN), 0);
      };
      const before = await eventually('both hosts observed with their watts', async () => {
        const hosts = (await c.getJson('physicalhosts')).items;
        return hosts.length === 2 && hosts.every((h: any) => h.status?.watts !== undefined && h.status?.vmCount === 4) && wattsOn();
      });
      assert.ok(Math.abs(before - 127) < 0.5, `starts at 127 W, kubectl shows ${before} W`);

      await c.kubectlOk(['apply', ...paper('policy.yaml')]);
      await c.kubectlOk(['wait', '--for=jsonpath={.status.powerState}=Off', 'physicalhost/node100', '--timeout=120s']);
      const vms = await eventually('every VM observed on node200', async () => {
        const list = await c.getJson('vmp', '-n', 'paper');
        return list.items.length === 8 && list.items.every((vm: any) => vm.status?.host === 'node200') && list;
      });
      const moved = vms.items.filter((vm: any) => vm.status.migration);
      assert.deepEqual(moved.map((vm: any) => vm.metadata.name).sort(), ['vm-1', 'vm-2', 'vm-3', 'vm-4']);
      for (const vm of moved) assert.deepEqual([vm.status.migration.phase, vm.status.migration.reason], ['Succeeded', 'Consolidate'], vm.metadata.name);
      const node100 = await c.getJson('physicalhost', 'node100');
      assert.deepEqual([node100.status.powerAction.type, node100.status.powerAction.phase], ['PowerOff', 'Succeeded']);
      // Events are written with `create events`; the executor does not log a refused one, so count them.
      const sent = await eventsOnceSent(c.getJson, "node100's PoweredOff Event", () => true, (all) => all.some((e) => e.reason === 'PoweredOff'));
      const reasons = sent.map((e: any) => e.reason);
      assert.equal(reasons.filter((r: string) => r === 'Migrated').length, 4, `events: ${reasons.join(', ')}`);
      // Events about a cluster-scoped object (node100) are the ones a real server is strict about.
      assert.ok(reasons.includes('PoweringOff') && reasons.includes('PoweredOff'), `node100's PoweringOff and PoweredOff Events were stored; events: ${reasons.join(', ')}`);
      const after = await eventually('the remaining host to draw 58 W', async () => {
        const w = await wattsOn();
        return Math.abs(w - 58) < 0.5 && w;
      });
      t.diagnostic(`kubectl: ${before} W before, ${after} W after; operator as ${c.identities.operator}; ${((Date.now() - began) / 1000).toFixed(1)} s`);
      noRefusals(operator);
    });
  });

  test('balance (paper §4.2) by kubectl alone — the 40 % VM moves, 60 % / 60 %; the meter agent’s watts kept beside the operator’s status', async (t) => {
    const began = Date.now();
    const c = await cluster();
    const scenario = loadScenario('paper-balance');
    // The user's resources first, as on a cluster where Tide is installed into existing hosts:
    // the agent re-lists hosts only every 30 s.
    const file = join(c.dir, 'paper-balance.yaml');
    writeFileSync(file, resourcesOf(scenario).map((o) => stringify(o)).join('---\n'));
    await c.kubectlOk(['apply', '-f', file]);
    const broker = await startMosquitto(c.dir);
    t.after(() => broker.process.stop());
    const z2m = await mqtt.connectAsync(broker.url);
    t.after(() => z2m.endAsync(true));
    // Zigbee2MQTT's side: one plug per host, named as Zigbee2MQTT would, each reporting a
    // reading of its own every 2 s (the meters are not simulated here; what is checked is that
    // the agent, as its ServiceAccount, gets the readings into the hosts' status).
    const hosts = (await c.getJson('physicalhosts')).items;
    const plugs = hosts.map((h: any, i: number) => ({ host: h.metadata.name, ieee: h.spec.meter.ieeeAddress, name: `plug-${h.metadata.name}`, watts: 90.5 + i * 11 }));
    await z2m.publishAsync('zigbee2mqtt/bridge/devices', JSON.stringify(plugs.map((p: any) => ({ ieee_address: p.ieee, friendly_name: p.name }))), { retain: true, qos: 1 });
    const publish = () => Promise.all(plugs.map((p: any) => z2m.publishAsync(`zigbee2mqtt/${p.name}`, JSON.stringify({ power: p.watts, energy: 1.5 }), { qos: 1 })));
    const plugTimer = setInterval(() => void publish().catch(() => {}), 2000);
    t.after(() => clearInterval(plugTimer));
    const agent = startAgentProcess({ kubeconfig: c.credentials['zigbee-agent'], mqttUrl: broker.url });
    t.after(() => agent.stop());
    const operator = startOperatorProcess({ scenario: 'paper-balance', speed: 20, kubeconfig: c.credentials.operator, identity: 'tide-operator-0', dataDir: c.dir });
    t.after(() => operator.stop());
    await withLogsOnFailure([operator, agent], async () => {
      await leaderStarted(operator);
      await eventually('the agent to start', async () => agent.said('reading meters from MQTT'));

      const vm40 = await eventually('vm-40 to move', async () => {
        const vm = await c.getJson('vmp', 'vm-40');
        return vm.status?.migration?.phase === 'Succeeded' && vm;
      });
      assert.deepEqual([vm40.status.migration.from, vm40.status.migration.to, vm40.status.migration.reason], ['node100', 'node200', 'Balance']);
      const loads = await eventually('host loads after the move', async () => {
        const list = (await c.getJson('physicalhosts')).items;
        const l = Object.fromEntries(list.map((h: any) => [h.metadata.name, h.status?.cpuLoadPercent]));
        return l.node100 === 60 && l.node200 === 60 && l;
      });
      assert.deepEqual(loads, { node100: 60, node200: 60 });
      const vms = (await c.getJson('vmp')).items;
      assert.equal(vms.filter((vm: any) => vm.status?.migration).length, 1, 'exactly one migration');

      // Both writers' fields stand side by side: the agent's merge patches and the operator's
      // status updates do not undo each other.
      for (const p of plugs) {
        const h = await eventually(`${p.host}: the agent's watts beside the operator's load`, async () => {
          const host = await c.getJson('physicalhost', p.host);
          return host.status?.watts === p.watts && host.status?.cpuLoadPercent === 60 && host;
        });
        assert.equal(h.status.conditions.find((x: any) => x.type === 'MeterFresh')?.status, 'True');
        assert.equal(h.status.energyWh, 1500);
        assert.equal(h.status.vmCount, p.host === 'node100' ? 3 : 5, `${p.host} runs its VMs after vm-40 moved`);
      }
      t.diagnostic(`operator as ${c.identities.operator}, agent as ${c.identities['zigbee-agent']}; ${((Date.now() - began) / 1000).toFixed(1)} s`);
      noRefusals(operator, agent);
    });
  });

  test('savings and what-if (issue 15) through the server: the power-off\'s predicted saving, a measured one that counts only what was read, the policy\'s total, tide report and tide simulate --from-store on the operator\'s store', async (t) => {
    const c = await cluster();
    // 600× the wall, observed every simulated minute: the hour after node100's power-off, over
    // which its saving is measured, ends within seconds.
    const operator = startOperatorProcess({ scenario: 'paper-consolidation', speed: 600, kubeconfig: c.credentials.operator, identity: 'tide-operator-0', dataDir: c.dir, flags: ['--observe-interval', '60s'] });
    t.after(() => operator.stop());
    await withLogsOnFailure([operator], async () => {
      await leaderStarted(operator);
      await paperCluster(c, { idleWatts: 69 });
      await c.kubectlOk(['apply', ...paper('policy.yaml')]);
      // No meter here (test/controller/e2e-savings.test.ts has simulated ones): node100's hour
      // off has no reading, and time without a reading is never counted as saved — so the
      // measured saving the operator writes into the policy's status is exactly 0.
      const policy = await eventually('the policy status to carry the measured saving', async () => {
        const p = (await c.getJson('consolidationpolicies')).items[0];
        return p?.status?.measuredEnergySavedWh !== undefined && p;
      });
      assert.equal(policy.status.measuredEnergySavedWh, 0);
      noRefusals(operator);
    });
    await operator.stop();
    const store = join(c.dir, 'tide-operator-0');
    const report = await tideWritingStdout('report', '--store', store);
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stdout, /node100\s+69\.0 Wh \(69 W × 1 h\)\s+0\.0 Wh/, `tide report: predicted and measured, per power-off\n${report.stdout}`);
    const whatIf = await tideWritingStdout('simulate', '--from-store', store, '--strategy', 'paper', '--json');
    assert.equal(whatIf.code, 0, whatIf.stderr);
    const doc = JSON.parse(whatIf.stdout);
    assert.equal(doc.actual.powerOffs, 1, 'what happened: node100 powered off once');
    assert.equal(doc.actual.migrations, 4);
    assert.deepEqual(doc.actions.filter((a: any) => a.type === 'power-off').map((a: any) => a.host), ['node100'], 'the what-if under the paper strategy does the same');
  });

  // The check above can fail: an operator whose role lacks one rule of permissions.ts has its
  // refused requests caught. Real server only (the embedded one has no RBAC).
  if (tier.tier === 'real') test('the refusal check works: an operator whose role lacks `update physicalhosts/status` is caught by the log scan', async (t) => {
    const c = await cluster();
    const name = 'tide-operator-short';
    const rules = OPERATOR_RULES.map((r) => ({ ...r, resources: r.resources.filter((x) => x !== 'physicalhosts/status') })).filter((r) => r.resources.length > 0);
    const rbac = [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: NAMESPACE } },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name }, subjects: [{ kind: 'ServiceAccount', name, namespace: NAMESPACE }] },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace: NAMESPACE }, rules: OPERATOR_NAMESPACE_RULES },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name, namespace: NAMESPACE }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name }, subjects: [{ kind: 'ServiceAccount', name, namespace: NAMESPACE }] },
    ];
    await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rbac }));
    t.after(() => c.kubectlOk(['delete', '-f', '-', '--ignore-not-found'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rbac })));
    const operator = startOperatorProcess({ scenario: 'paper-consolidation', speed: 20, kubeconfig: await serviceAccountKubeconfig(c, name), identity: name, dataDir: c.dir });
    t.after(() => operator.stop());
    await withLogsOnFailure([operator], async () => {
      await leaderStarted(operator);
      await c.kubectlOk(['apply', '-f', 'manifests/examples/paper/hosts.yaml']);
      const refused = await eventually('a refused status write in the log', async () => operator.refusals().find((l) => l.includes('node100')));
      // The server's words, with the quotes escaped once or twice by the JSON log line.
      const q = '[\\\\"]*';
      assert.match(refused, new RegExp(`physicalhosts\\.tide\\.dev ${q}node100${q} is forbidden: User ${q}system:serviceaccount:${NAMESPACE}:${name}${q} cannot update resource ${q}physicalhosts/status`));
      const node100 = await c.getJson('physicalhost', 'node100');
      assert.equal(node100.status?.lastObservedTime, undefined, 'nothing was written');
    });
  });
});
