/**
 * The parts of Zigbee2MQTT's MQTT API a power-meter reader needs (pure; no connection):
 *  - `<base>/bridge/devices` (retained): JSON array of devices with `ieee_address` and
 *    `friendly_name`. Meters are matched to hosts by IEEE address, since names get edited.
 *  - `<base>/<friendly_name>`: JSON state, with `power` in W and `energy` in kWh for meters.
 *  - `<base>/<friendly_name>/availability`: `online` / `offline`, as text or `{"state": …}`.
 */

export type Zigbee2MqttTopic =
  | { kind: 'devices' }
  | { kind: 'availability'; name: string }
  | { kind: 'state'; name: string }
  | { kind: 'other' };

/** Classifies a topic under `base` (friendly names may themselves contain `/`). */
export function classifyTopic(base: string, topic: string): Zigbee2MqttTopic {
  if (!topic.startsWith(`${base}/`)) return { kind: 'other' };
  const rest = topic.slice(base.length + 1);
  if (rest === 'bridge/devices') return { kind: 'devices' };
  if (rest.startsWith('bridge/') || rest.endsWith('/set') || rest.endsWith('/get')) return { kind: 'other' };
  if (rest.endsWith('/availability')) return { kind: 'availability', name: rest.slice(0, -'/availability'.length) };
  return { kind: 'state', name: rest };
}

/** friendly_name → IEEE address (lowercase), from the bridge/devices message. */
export function parseBridgeDevices(payload: string): Map<string, string> {
  const devices: unknown = JSON.parse(payload);
  if (!Array.isArray(devices)) throw new Error('bridge/devices is not a JSON array');
  const byName = new Map<string, string>();
  for (const d of devices as Array<Record<string, unknown>>) {
    if (typeof d?.friendly_name === 'string' && typeof d.ieee_address === 'string') {
      byName.set(d.friendly_name, d.ieee_address.toLowerCase());
    }
  }
  return byName;
}

export interface StateValues {
  watts?: number;
  energyWh?: number;
  /** When the device was last heard from, if Zigbee2MQTT adds `last_seen`; never later than now. */
  atMs?: number;
}

/**
 * Power and energy from a device state message; throws when the payload is not a JSON object.
 * A `last_seen` later than `nowMs` (a device or bridge clock ahead, or garbage) counts as now:
 * a reading stamped in the future would stay fresh, and hide every later one, until that time.
 */
export function parseDeviceState(payload: string, nowMs: number): StateValues {
  const state: unknown = JSON.parse(payload);
  if (typeof state !== 'object' || state === null || Array.isArray(state)) throw new Error('device state is not a JSON object');
  const s = state as Record<string, unknown>;
  const out: StateValues = {};
  if (s.power !== undefined && s.power !== null) out.watts = finite(s.power, 'power');
  if (s.energy !== undefined && s.energy !== null) out.energyWh = finite(s.energy, 'energy', 1000);
  const lastSeen = typeof s.last_seen === 'number' ? s.last_seen : typeof s.last_seen === 'string' ? Date.parse(s.last_seen) : NaN;
  // new Date() holds ±8.64e15 ms: a finite number beyond that would break every later toISOString().
  if (Number.isFinite(new Date(lastSeen).getTime())) out.atMs = Math.min(lastSeen, nowMs);
  return out;
}

/** Whether an availability payload says online (true), offline (false), or neither (null). */
export function parseAvailability(payload: string): boolean | null {
  let state: unknown = payload.trim();
  if (typeof state === 'string' && state.startsWith('{')) {
    try {
      state = (JSON.parse(state) as { state?: unknown }).state;
    } catch {
      return null;
    }
  }
  return state === 'online' ? true : state === 'offline' ? false : null;
}

/** `value` (a number, or a number in a string) times `scale`; throws unless that is a finite number. */
function finite(value: unknown, field: string, scale = 1): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new Error(`${field} ${JSON.stringify(value)} is not a number`);
  // kWh → Wh can overflow a double that was finite (energy 1.8e305).
  if (!Number.isFinite(n * scale)) throw new Error(`${field} ${JSON.stringify(value)} is out of range`);
  return n * scale;
}
