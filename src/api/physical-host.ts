/** PhysicalHost: one KVM/libvirt hypervisor that Tide observes, migrates VMs to and from, and powers. */
import { Type, type Static } from '@sinclair/typebox';
import { Conditions, SecretReference, StringEnum, Watts, withCel } from './schema-helpers.ts';

const MAC_ADDRESS = '^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$';
/** Host names and IP addresses only: this string ends up in SSH and virsh invocations. */
const HOST_ADDRESS = '^[A-Za-z0-9]([A-Za-z0-9.:-]{0,251}[A-Za-z0-9])?$';
/** A URI parameter libvirt reads, with a value that cannot pass for an option (no leading `-`). */
const LIBVIRT_PARAM = '(keyfile|known_hosts|known_hosts_verify|no_verify|no_tty|sshauth|mode|proxy|pkipath|socket)=[A-Za-z0-9._/][A-Za-z0-9._/,-]*';
/**
 * libvirt URIs, e.g. qemu+ssh://user@host:port/system?keyfile=…: the QEMU driver over the
 * transports that run no program of the URI's choosing. Refused: `qemu+ext` and the `command`
 * and `netcat` parameters (each runs a program — on the host itself, or, in a migration URI, on
 * the source host as libvirtd), any other parameter, and a host or value starting with `-`.
 * names.ts checks the same pattern again before a URI reaches virsh.
 */
export const LIBVIRT_URI_PATTERN =
  '^qemu(\\+(ssh|tcp|tls|unix|libssh|libssh2))?://([a-z_][a-z0-9_-]{0,31}@)?(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)?(:[0-9]{1,5})?/[A-Za-z0-9._/-]*' +
  `(\\?${LIBVIRT_PARAM}(&${LIBVIRT_PARAM})*)?$`;


export const PhysicalHostSpec = withCel(Type.Object(
  {
    address: Type.String({ pattern: HOST_ADDRESS, description: 'Host name or IP address Tide reaches the host at over SSH.' }),
    ssh: Type.Optional(
      Type.Object({
        user: Type.String({ default: 'root', pattern: '^[a-z_][a-z0-9_-]{0,31}$', description: 'SSH user.' }),
        port: Type.Integer({ default: 22, minimum: 1, maximum: 65535, description: 'SSH port.' }),
        secretRef: Type.Optional(SecretReference("Secret with keys `ssh-privatekey` and `known_hosts`; the host key is checked strictly against known_hosts.")),
      }, { description: 'How Tide logs in to the host (observation, virsh, orderly power-off).' }),
    ),
    libvirt: Type.Optional(
      Type.Object({
        uri: Type.String({ default: 'qemu:///system', pattern: LIBVIRT_URI_PATTERN, description: 'libvirt URI on the host itself (virsh runs there over SSH).' }),
        migrationAddress: Type.Optional(Type.String({ pattern: HOST_ADDRESS, description: 'Address other hosts send migration traffic to, if not `address`.' })),
        migrationUri: Type.Optional(
          Type.String({
            pattern: LIBVIRT_URI_PATTERN,
            description: "libvirt URI a source host's libvirtd uses to reach this host's libvirtd in a peer-to-peer migration (default qemu+ssh://<migrationAddress or address>/system).",
          }),
        ),
      }, { description: 'How Tide talks to libvirt on the host and how migrations reach it.' }),
    ),
    capacity: Type.Object({
      cpuCores: Type.Integer({ minimum: 1, maximum: 4096, description: 'Physical CPU cores (threads) available to guests.' }),
      memoryMiB: Type.Integer({ minimum: 64, description: 'Memory available to guests, in MiB.' }),
    }, { description: 'What the host offers its guests; the planner never fills it beyond this.' }),
    power: Type.Optional(
      withCel(
        Type.Object({
          onMethod: StringEnum(['WakeOnLAN', 'IPMI', 'None'] as const, {
            default: 'None',
            description: 'How Tide powers the host on. None: Tide never powers this host off, since it could not bring it back.',
          }),
          fallbackOnMethods: Type.Optional(
            Type.Array(StringEnum(['WakeOnLAN', 'IPMI'] as const, { description: 'A power-on method: WakeOnLAN or IPMI.' }), {
              maxItems: 2,
              description:
                'Power-on methods tried in order, after onMethod, when a wake fails (the host is not observed up within bootTimeoutSeconds), e.g. [IPMI] after a Wake-on-LAN packet that was lost. Each needs its own settings (wakeOnLAN, ipmi). Empty or absent: no fallback; Tide then wakes another standby host if the load still calls for one.',
            }),
          ),
          offMethod: StringEnum(['SSH', 'IPMI', 'None'] as const, {
            default: 'SSH',
            description: 'How Tide powers the host off: an orderly `systemctl poweroff` over SSH, or IPMI soft power-off.',
          }),
          wakeOnLAN: Type.Optional(
            Type.Object({
              macAddress: Type.String({ pattern: MAC_ADDRESS, description: 'MAC address of the NIC that wakes the host.' }),
              broadcastAddress: Type.String({ default: '255.255.255.255', format: 'ipv4', description: 'IPv4 broadcast address the magic packet is sent to.' }),
              port: Type.Integer({ default: 9, minimum: 1, maximum: 65535, description: 'UDP port of the magic packet.' }),
            }, { description: 'Wake-on-LAN settings; required when onMethod is WakeOnLAN.' }),
          ),
          ipmi: Type.Optional(
            Type.Object({
              address: Type.String({ pattern: HOST_ADDRESS, description: 'BMC address.' }),
              port: Type.Integer({ default: 623, minimum: 1, maximum: 65535, description: 'BMC port (IPMI over LAN, UDP).' }),
              secretRef: SecretReference('Secret with keys `username` and `password`.'),
            }, { description: 'The BMC; required when onMethod or offMethod is IPMI.' }),
          ),
          bootTimeoutSeconds: Type.Integer({ default: 600, minimum: 10, maximum: 7200, description: 'A power-on that has not brought libvirt up after this long has failed.' }),
          shutdownTimeoutSeconds: Type.Integer({ default: 300, minimum: 10, maximum: 7200, description: 'A power-off that has not finished after this long has failed.' }),
          idleWatts: Type.Optional(Watts({ description: 'Watts when on and idle; used when no meter reads this host.' })),
          peakWatts: Type.Optional(Watts({ description: 'Watts at full CPU load; used when no meter reads this host.' })),
        }, { description: 'How Tide powers the host on and off, and what it draws. Without it, Tide never powers the host.' }),
        [
          { rule: "self.onMethod != 'WakeOnLAN' || has(self.wakeOnLAN)", message: 'wakeOnLAN.macAddress is required when onMethod is WakeOnLAN', fieldPath: '.wakeOnLAN', reason: 'FieldValueRequired' },
          { rule: "(self.onMethod != 'IPMI' && self.offMethod != 'IPMI') || has(self.ipmi)", message: 'ipmi is required when onMethod or offMethod is IPMI', fieldPath: '.ipmi', reason: 'FieldValueRequired' },
          { rule: "!has(self.fallbackOnMethods) || !('WakeOnLAN' in self.fallbackOnMethods) || has(self.wakeOnLAN)", message: 'wakeOnLAN is required when fallbackOnMethods lists WakeOnLAN', fieldPath: '.wakeOnLAN', reason: 'FieldValueRequired' },
          { rule: "!has(self.fallbackOnMethods) || !('IPMI' in self.fallbackOnMethods) || has(self.ipmi)", message: 'ipmi is required when fallbackOnMethods lists IPMI', fieldPath: '.ipmi', reason: 'FieldValueRequired' },
          { rule: "!has(self.fallbackOnMethods) || self.onMethod != 'None'", message: 'fallbackOnMethods needs an onMethod to fall back from (onMethod None: Tide never powers the host off)', fieldPath: '.fallbackOnMethods' },
          { rule: '!has(self.idleWatts) || !has(self.peakWatts) || self.peakWatts >= self.idleWatts', message: 'peakWatts must be at least idleWatts', fieldPath: '.peakWatts' },
        ],
      ),
    ),
    meter: Type.Optional(
      Type.Object({
        ieeeAddress: Type.String({ pattern: '^0x[0-9a-fA-F]{16}$', description: "IEEE address of this host's ZigBee power meter, e.g. 0x00124b0001a2b3c4." }),
        multiplier: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: "Overrides the meter's own multiplier (some devices misreport it)." })),
        divisor: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: "Overrides the meter's own divisor." })),
      }, { description: "The host's own power meter, read by the zigbee agent (tide zigbee-agent)." }),
    ),
    standbyAllowed: Type.Boolean({
      default: true,
      description:
        'Under powerPolicy Auto only: may Tide put this host in standby (power it off when its VMs fit elsewhere)? false: never, and a host found off is powered on. AlwaysOn and Off decide for themselves and ignore it.',
    }),
    maintenance: Type.Boolean({
      default: false,
      description:
        "Evacuate the host, as vSphere DRS maintenance mode does: Tide live-migrates every VM that may move off it (not pinned to it, not doNotMigrate; within capacity, anti-affinity and maxConcurrentMigrations) and places none on it; the Evacuated condition turns True once no movable VM is left and names those that cannot move. Tide then powers the host neither on nor off (over powerPolicy AlwaysOn and Auto), except that powerPolicy Off still powers it off once it is empty.",
    }),
    powerPolicy: Type.Optional(StringEnum(['Auto', 'AlwaysOn', 'Off'] as const, {
      default: 'Auto',
      description:
        'Desired power, as Metal3 says it. Auto: Tide decides (standby when standbyAllowed is true). AlwaysOn: never put in standby whatever standbyAllowed says, and powered on if found off (not while in maintenance). Off: evacuated as in maintenance, then powered off once no VM at all runs on it, and kept off (never woken, not even for overload or room); needs a power-off method. Precedence: Off > maintenance > AlwaysOn > standbyAllowed.',
    })),
  },
  { description: 'How to reach, size and power one hypervisor host.' },
), [
  {
    rule: "!has(self.powerPolicy) || self.powerPolicy != 'Off' || (has(self.power) && self.power.offMethod != 'None')",
    message: 'powerPolicy Off needs a way to power the host off: spec.power with offMethod SSH or IPMI',
    fieldPath: '.powerPolicy',
    reason: 'FieldValueInvalid',
  },
]);


/** A power action Tide decided on, recorded before it is carried out (crash safety). */
export const PowerActionRecord = Type.Object({
  id: Type.String({ description: 'Unique id of the action, shared with its Event and history record.' }),
  type: StringEnum(['PowerOn', 'PowerOff'] as const, { description: 'PowerOn or PowerOff.' }),
  phase: StringEnum(['Pending', 'Running', 'Succeeded', 'Failed'] as const, { description: 'Pending (recorded, not yet started), Running, Succeeded or Failed.' }),
  reason: Type.String({ description: 'Machine-readable reason from the planner.' }),
  message: Type.String({ description: 'Why, with the numbers that drove the decision.' }),
  startedAt: Type.String({ format: 'date-time', description: 'When the action was recorded.' }),
  completedAt: Type.Optional(Type.String({ format: 'date-time', description: 'When it succeeded or failed.' })),
  error: Type.Optional(Type.String({ description: 'Why it failed.' })),
}, { description: 'The latest power action Tide decided on, recorded before it was carried out.' });

/** Where an evacuation stands: written while a host is in maintenance, under powerPolicy Off, or being deleted. */
export const EvacuationProgress = Type.Object(
  {
    vmsLeft: Type.Integer({ minimum: 0, description: 'VMs Tide manages (with a VirtualMachinePlacement) still running on the host.' }),
    movable: Type.Integer({ minimum: 0, description: 'Of vmsLeft, how many can still leave (migrating now or in a later round).' }),
    cannotMove: Type.Array(
      Type.Object({
        vm: Type.String({ description: 'libvirt domain name.' }),
        reason: Type.String({ description: 'Why it cannot leave: pinned to this host, doNotMigrate, or no room on any other host.' }),
      }),
      { description: 'VMs that stay until someone acts (unpin, clear doNotMigrate, make room).' },
    ),
    unmanaged: Type.Optional(Type.Array(Type.String(), { description: 'Domains running here without a VirtualMachinePlacement: not Tide’s to move, yet they keep the host from being powered off.' })),
  },
  { description: 'Progress of the evacuation (maintenance, powerPolicy Off or deletion); absent when the host is not being evacuated. The Evacuated condition sums it up.' },
);

/** One try at powering a host on by one method, as Tide recorded it (wake.ts). */
export const WakeAttempt = Type.Object({
  method: StringEnum(['WakeOnLAN', 'IPMI'] as const, { description: 'The power-on method tried.' }),
  startedAt: Type.String({ format: 'date-time', description: 'When the command was sent.' }),
  latencySeconds: Type.Number({ minimum: 0, description: 'From the command until the host was observed up (Succeeded) or given up on (Failed).' }),
  outcome: StringEnum(['Succeeded', 'Failed'] as const, { description: 'Succeeded: observed up within bootTimeoutSeconds; Failed: not.' }),
  message: Type.String({ description: 'What was sent, or why the attempt failed.' }),
}, { description: 'One wake attempt: a power-on by one method.' });

export const PhysicalHostStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0, description: 'metadata.generation of the spec this status was written for.' })),
  powerState: Type.Optional(StringEnum(['On', 'Off', 'PoweringOn', 'PoweringOff', 'Unknown'] as const, { description: 'Observed power state: On, Off, PoweringOn, PoweringOff or Unknown.' })),
  cpuLoadPercent: Type.Optional(Type.Number({ minimum: 0, description: 'CPU load of the whole host, % of all cores.' })),
  memoryUsedMiB: Type.Optional(Type.Integer({ minimum: 0, description: 'Memory the running guests use, in MiB.' })),
  watts: Type.Optional(Type.Number({ minimum: 0, description: "Latest power reading (omitted when the meter's reading is stale)." })),
  energyWh: Type.Optional(Type.Number({ minimum: 0, description: 'Cumulative energy the meter reports, in watt-hours.' })),
  meterReadingTime: Type.Optional(Type.String({ format: 'date-time', description: 'When the meter took its latest reading.' })),
  vmCount: Type.Optional(Type.Integer({ minimum: 0, description: 'Number of running libvirt domains (omitted while they are unknown).' })),
  vms: Type.Optional(Type.Array(Type.String(), { description: 'libvirt domains observed on the host.' })),
  lastObservedTime: Type.Optional(Type.String({ format: 'date-time', description: 'When Tide last observed the host.' })),
  powerAction: Type.Optional(PowerActionRecord),
  evacuation: Type.Optional(EvacuationProgress),
  wakeAttempts: Type.Optional(Type.Array(WakeAttempt, { maxItems: 5, description: 'The last wake attempts (at most 5, oldest first), one per method tried: a wake that fell back from Wake-on-LAN to IPMI leaves two.' })),
  failedWakesInARow: Type.Optional(Type.Integer({ minimum: 0, description: 'Wakes (power-ons, every method tried) that failed since the last one that succeeded. At 3 the WakeFailing condition turns True and Tide puts the host in standby no more; a successful wake sets it back to 0.' })),
  conditions: Type.Optional(Conditions),
});

export type PhysicalHostSpec = Static<typeof PhysicalHostSpec>;
export type PhysicalHostStatus = Static<typeof PhysicalHostStatus>;
export type PowerActionRecord = Static<typeof PowerActionRecord>;
export type EvacuationProgress = Static<typeof EvacuationProgress>;
export type WakeAttempt = Static<typeof WakeAttempt>;
