/** How numbers, times and durations read in the table and on the page. */

export function formatEnergy(wh: number): string {
  if (Math.abs(wh) >= 1000) return `${(wh / 1000).toFixed(2)} kWh`;
  return `${wh.toFixed(Math.abs(wh) >= 100 ? 0 : 1)} Wh`;
}

export function formatPercent(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)} %` : '–';
}

export function formatDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes === 0) return ms > 0 ? `${Math.round(ms / 1000)} s` : '0';
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h === 0 ? `${m} min` : m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/** Wall times as UTC; simulation times as time since the start (+h:mm:ss). */
export function formatTime(ms: number, axis: 'wall' | 'elapsed'): string {
  if (axis === 'wall') return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  const s = Math.round(ms / 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `+${Math.floor(s / 3600)}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

/** "migrate vm-3 node1→node2", "power-off node3". */
export function describeAction(a: { type: string; vm?: string; from?: string; to?: string; host?: string }): string {
  if (a.type === 'migrate') return `migrate ${a.vm ?? '?'} ${a.from ?? '?'}→${a.to ?? '?'}`;
  return a.host ? `${a.type} ${a.host}` : a.type;
}

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
