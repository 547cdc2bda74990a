/**
 * Hostile strings in every CR field that reaches a shell, an SSH command, ipmitool or libvirt:
 * host and BMC addresses, the SSH user, libvirt and migration URIs (with the URI features that
 * run programs: the `ext` transport, `command=` and `netcat=`), MAC and broadcast addresses, and
 * domain names. The first lock is the CRD schema — refused by the API server with the field
 * named, on the embedded server and on a real kube-apiserver; the second is the driver's own
 * check before anything runs (names.ts), for an object that got in before a schema was tightened.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostTarget } from '../../src/api/drivers.ts';
import { HypervisorError } from '../../src/hypervisor/errors.ts';
import { hostEndpoint } from '../../src/hypervisor/host-endpoint.ts';
import { validDomainName } from '../../src/hypervisor/names.ts';
import { magicPacket } from '../../src/power/control/wake-on-lan.ts';
import { repoPath, serverTiers, type KubeTarget, type ServerTier } from '../kube/harness.ts';
import { RawClient } from '../kube/raw-client.ts';

/** What an attacker tries in any string: shell syntax, option injection, whitespace, non-ASCII. */
const SHELL = [`x';touch /tmp/tide-pwned;'`, '$(touch /tmp/tide-pwned)', '`id`', 'a b', 'a;b', 'a|b', 'a&b', '>x', 'a\nb', '-oProxyCommand=touch /tmp/tide-pwned', '--help', '-h', 'é', ''];
/** libvirt URIs that run a program, or put an option where a host goes. */
const URIS = [
  `qemu:///system';touch /tmp/tide-pwned;'`, 'qemu:///system $(id)', 'qemu+ext:///system?command=/tmp/tide-pwned',
  'qemu+ssh://h/system?command=/tmp/tide-pwned', 'qemu+ssh://h/system?netcat=/tmp/tide-pwned', 'qemu+ssh://-oProxyCommand/system',
  'qemu+ssh://root@-h/system', 'qemu+ssh://h/system?keyfile=-oProxyCommand', 'file:///etc/passwd', 'qemu+ssh://h/system?x=1',
];

interface Field {
  kind: 'PhysicalHost' | 'VirtualMachinePlacement';
  /** Path under spec. */
  path: string[];
  hostile: string[];
}

const FIELDS: Field[] = [
  { kind: 'PhysicalHost', path: ['address'], hostile: SHELL },
  { kind: 'PhysicalHost', path: ['ssh', 'user'], hostile: [...SHELL, 'Root', 'a'.repeat(40)] },
  { kind: 'PhysicalHost', path: ['libvirt', 'uri'], hostile: [...SHELL, ...URIS] },
  { kind: 'PhysicalHost', path: ['libvirt', 'migrationAddress'], hostile: SHELL },
  { kind: 'PhysicalHost', path: ['libvirt', 'migrationUri'], hostile: [...SHELL, ...URIS] },
  { kind: 'PhysicalHost', path: ['power', 'ipmi', 'address'], hostile: SHELL },
  { kind: 'PhysicalHost', path: ['power', 'wakeOnLAN', 'macAddress'], hostile: [...SHELL, '52:54:00:00:00', '52:54:00:00:00:0g'] },
  { kind: 'PhysicalHost', path: ['power', 'wakeOnLAN', 'broadcastAddress'], hostile: [...SHELL, '10.0.0.256', 'host.example'] },
  { kind: 'VirtualMachinePlacement', path: ['domain'], hostile: [...SHELL, '.hidden', 'x'.repeat(65)] },
];

const VALID_HOST_SPEC = {
  address: '10.0.0.9',
  ssh: { user: 'root', port: 22, secretRef: { name: 's', namespace: 'tide-system' } },
  libvirt: { uri: 'qemu:///system', migrationAddress: '10.1.0.9', migrationUri: 'qemu+tls://10.1.0.9/system' },
  capacity: { cpuCores: 4, memoryMiB: 4096 },
  power: {
    onMethod: 'IPMI', offMethod: 'SSH',
    ipmi: { address: '10.2.0.9', secretRef: { name: 'bmc', namespace: 'tide-system' } },
    wakeOnLAN: { macAddress: '52:54:00:00:00:09', broadcastAddress: '10.0.0.255' },
  },
};

function withValue(spec: Record<string, unknown>, path: string[], value: string): Record<string, any> {
  const copy = structuredClone(spec) as Record<string, any>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key];
  node[path[path.length - 1]!] = value;
  return copy;
}

function objectWith(field: Field, value: string) {
  if (field.kind === 'VirtualMachinePlacement') {
    return { apiVersion: 'tide.dev/v1alpha1', kind: field.kind, metadata: { name: 'hostile', namespace: 'default' }, spec: { domain: value } };
  }
  return { apiVersion: 'tide.dev/v1alpha1', kind: field.kind, metadata: { name: 'hostile' }, spec: withValue(VALID_HOST_SPEC, field.path, value) };
}

const collection = (field: Field) =>
  field.kind === 'PhysicalHost' ? '/apis/tide.dev/v1alpha1/physicalhosts' : '/apis/tide.dev/v1alpha1/namespaces/default/virtualmachineplacements';

for (const tier of serverTiers()) describe(tier.name, { skip: tier.skip }, () => schemaSuite(tier));

function schemaSuite(tier: ServerTier): void {
  let h: KubeTarget;
  let client: RawClient;
  before(async () => {
    h = await tier.start();
    await h.applyCrds(repoPath('manifests/crds/'));
    client = await RawClient.fromKubeConfig(h.kubeConfig());
  });
  after(async () => h?.close());

  test('the valid objects are accepted, so the refusals below are about the one field', async () => {
    for (const field of [FIELDS[0]!, FIELDS.at(-1)!]) {
      const valid = field.kind === 'PhysicalHost' ? '10.0.0.9' : 'web-01.prod';
      const res = await client.send({ method: 'POST', path: collection(field), body: objectWith(field, valid), query: { dryRun: 'All' } });
      assert.equal(res.code, 201, JSON.stringify(res.body));
    }
  });

  test('every hostile string in every field that reaches a command is refused, naming the field', async () => {
    for (const field of FIELDS) {
      const name = `spec.${field.path.join('.')}`;
      for (const value of field.hostile) {
        const res = await client.send({ method: 'POST', path: collection(field), body: objectWith(field, value), query: { dryRun: 'All' } });
        assert.equal(res.code, 422, `${name}=${JSON.stringify(value)} was accepted (${res.code})`);
        assert.ok(res.body.message.includes(name), `${name}=${JSON.stringify(value)}: the refusal does not name the field: ${res.body.message}`);
      }
    }
  });
}

test('the driver refuses each hostile host field itself, naming host and field, before connecting', () => {
  // known_hosts is read after the names are checked; one valid line, so that only the name can fail.
  const secrets = { 'ssh-privatekey': 'key', known_hosts: 'h ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' };
  const driverChecked: Array<[string[], string]> = [
    [['address'], 'spec.address'], [['ssh', 'user'], 'spec.ssh.user'], [['libvirt', 'uri'], 'spec.libvirt.uri'],
    [['libvirt', 'migrationAddress'], 'spec.libvirt.migrationAddress'], [['libvirt', 'migrationUri'], 'spec.libvirt.migrationUri'],
  ];
  for (const [path, name] of driverChecked) {
    const field = FIELDS.find((f) => f.kind === 'PhysicalHost' && f.path.join('.') === path.join('.'))!;
    for (const value of field.hostile) {
      const target = { name: 'node-9', spec: withValue(VALID_HOST_SPEC, path, value), secrets } as unknown as HostTarget;
      assert.throws(
        () => hostEndpoint(target),
        (err: unknown) => err instanceof HypervisorError && err.reason === 'InvalidName' && err.message.includes(`PhysicalHost node-9 ${name}`),
        `${name}=${JSON.stringify(value)}`,
      );
    }
  }
  for (const value of FIELDS.at(-1)!.hostile) {
    assert.throws(() => validDomainName(value, 'VirtualMachinePlacement default/hostile spec.domain'), /spec\.domain: invalid domain name/, JSON.stringify(value));
  }
  for (const value of FIELDS.find((f) => f.path.at(-1) === 'macAddress')!.hostile) {
    assert.throws(() => magicPacket(value), /is not a MAC address/, JSON.stringify(value));
  }
});
