/** PhysicalHost: one KVM/libvirt hypervisor that Tide observes, migrates VMs to and from, and powers. */
import { Type, type Static } from '@sinclair/typebox';
import { Conditions, SecretReference, StringEnum, withCel } from './schema-helpers.ts';

const MAC_ADDRESS = '^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$';
/** Host names and IP addresses only: this string ends up in SSH and virsh invocations. */
const HOST_ADDRESS = '^[A-Za-z0-9]([A-Za-z0-9.:-]{0,251}[A-Za-z0-9])?$';


export const PhysicalHostSpec = Type.Object(
  {
    address: Type.String({ pattern: HOST_ADDRESS, description: 'Host name or IP address Tide reaches the host at over SSH.' }),
    ssh: Type.Optional(
      Type.Object({
        user: Type.String({ default: 'root', pattern: '^[a-z_][a-z0-9_-]{0,31}$', description: 'SSH user.' }),
        port: Type.Integer({ default: 22, minimum: 1, maximum: 65535 }),
        secretRef: Type.Optional(SecretReference("Secret with keys `ssh-privatekey` and `known_hosts`; the host key is checked strictly against known_hosts.")),
      }),
    ),
    libvirt: Type.Optional(
      Type.Object({
        uri: Type.String({ default: 'qemu:///system', pattern: '^[a-z0-9+]+://[A-Za-z0-9.:@/_-]*(\\?[A-Za-z0-9=&._/-]*)?$', description: 'libvirt URI on the host itself (virsh runs there over SSH).' }),
        migrationAddress: Type.Optional(Type.String({ pattern: HOST_ADDRESS, description: 'Address other hosts send migration traffic to, if not `address`.' })),
        migrationUri: Type.Optional(
          Type.String({
            pattern: '^[a-z0-9+]+://[A-Za-z0-9.:@/_\\[\\]-]*(\\?[A-Za-z0-9=&._/-]*)?$',
            description: "libvirt URI a source host's libvirtd uses to reach this host's libvirtd in a peer-to-peer migration (default qemu+ssh://<migrationAddress or address>/system).",
          }),
        ),
      }),
    ),
    capacity: Type.Object({
      cpuCores: Type.Integer({ minimum: 1, maximum: 4096, description: 'Physical CPU cores (threads) available to guests.' }),
      memoryMiB: Type.Integer({ minimum: 64, description: 'Memory available to guests, in MiB.' }),
    }),
    power: Type.Optional(
      withCel(
        Type.Object({
          onMethod: StringEnum(['WakeOnLAN', 'IPMI', 'None'] as const, {
            default: 'None',
            description: 'How Tide powers the host on. None: Tide never powers this host off, since it could not bring it back.',
          }),
          offMethod: StringEnum(['SSH', 'IPMI', 'None'] as const, {
            default: 'SSH',
            description: 'How Tide powers the host off: an orderly `systemctl poweroff` over SSH, or IPMI soft power-off.',
          }),
          wakeOnLAN: Type.Optional(
            Type.Object({
              macAddress: Type.String({ pattern: MAC_ADDRESS, description: 'MAC address of the NIC that wakes the host.' }),
              broadcastAddress: Type.String({ default: '255.255.255.255', format: 'ipv4' }),
              port: Type.Integer({ default: 9, minimum: 1, maximum: 65535 }),
            }),
          ),
          ipmi: Type.Optional(
            Type.Object({
              address: Type.String({ pattern: HOST_ADDRESS, description: 'BMC address.' }),
              port: Type.Integer({ default: 623, minimum: 1, maximum: 65535 }),
              secretRef: SecretReference('Secret with keys `username` and `password`.'),
            }),
          ),
          bootTimeoutSeconds: Type.Integer({ default: 600, minimum: 10, maximum: 7200 }),
          shutdownTimeoutSeconds: Type.Integer({ default: 300, minimum: 10, maximum: 7200 }),
          idleWatts: Type.Optional(Type.Number({ minimum: 0, description: 'Watts when on and idle; used when no meter reads this host.' })),
          peakWatts: Type.Optional(Type.Number({ minimum: 0, description: 'Watts at full CPU load; used when no meter reads this host.' })),
        }),
        [
          { rule: "self.onMethod != 'WakeOnLAN' || has(self.wakeOnLAN)", message: 'wakeOnLAN.macAddress is required when onMethod is WakeOnLAN', fieldPath: '.wakeOnLAN', reason: 'FieldValueRequired' },
          { rule: "(self.onMethod != 'IPMI' && self.offMethod != 'IPMI') || has(self.ipmi)", message: 'ipmi is required when onMethod or offMethod is IPMI', fieldPath: '.ipmi', reason: 'FieldValueRequired' },
          { rule: '!has(self.idleWatts) || !has(self.peakWatts) || self.peakWatts >= self.idleWatts', message: 'peakWatts must be at least idleWatts', fieldPath: '.peakWatts' },
        ],
      ),
    ),
    meter: Type.Optional(
      Type.Object({
        ieeeAddress: Type.String({ pattern: '^0x[0-9a-fA-F]{16}$', description: "IEEE address of this host's ZigBee power meter, e.g. 0x00124b0001a2b3c4." }),
        multiplier: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: "Overrides the meter's own multiplier (some devices misreport it)." })),
        divisor: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: "Overrides the meter's own divisor." })),
      }),
    ),
    standbyAllowed: Type.Boolean({ default: true, description: 'May Tide power this host off when its VMs fit elsewhere?' }),
    maintenance: Type.Boolean({ default: false, description: 'A host in maintenance receives no VM and is not powered on or off by Tide.' }),
  },
  { description: 'How to reach, size and power one hypervisor host.' },
);

export const HostPowerStatus = StringEnum(['On', 'Off', 'PoweringOn', 'PoweringOff', 'Unknown'] as const);

/** A power action Tide decided on, recorded before it is carried out (crash safety). */
export const PowerActionRecord = Type.Object({
  id: Type.String({ description: 'Unique id of the action, shared with its Event and history record.' }),
  type: StringEnum(['PowerOn', 'PowerOff'] as const),
  phase: StringEnum(['Pending', 'Running', 'Succeeded', 'Failed'] as const),
  reason: Type.String({ description: 'Machine-readable reason from the planner.' }),
  message: Type.String({ description: 'Why, with the numbers that drove the decision.' }),
  startedAt: Type.String({ format: 'date-time' }),
  completedAt: Type.Optional(Type.String({ format: 'date-time' })),
  error: Type.Optional(Type.String()),
});

export const PhysicalHostStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
  powerState: Type.Optional(HostPowerStatus),
  cpuLoadPercent: Type.Optional(Type.Number({ minimum: 0, description: 'CPU load of the whole host, % of all cores.' })),
  memoryUsedMiB: Type.Optional(Type.Integer({ minimum: 0 })),
  watts: Type.Optional(Type.Number({ minimum: 0, description: "Latest power reading (omitted when the meter's reading is stale)." })),
  energyWh: Type.Optional(Type.Number({ minimum: 0, description: 'Cumulative energy the meter reports, in watt-hours.' })),
  meterReadingTime: Type.Optional(Type.String({ format: 'date-time' })),
  vmCount: Type.Optional(Type.Integer({ minimum: 0 })),
  vms: Type.Optional(Type.Array(Type.String(), { description: 'libvirt domains observed on the host.' })),
  lastObservedTime: Type.Optional(Type.String({ format: 'date-time' })),
  powerAction: Type.Optional(PowerActionRecord),
  conditions: Type.Optional(Conditions),
});

export type PhysicalHostSpec = Static<typeof PhysicalHostSpec>;
export type PhysicalHostStatus = Static<typeof PhysicalHostStatus>;
export type PowerActionRecord = Static<typeof PowerActionRecord>;
