/**
 * SVG charts as strings (no DOM, no script): power per host stacked over time, active hosts over
 * time, and the actions on the same time axis. d3-scale picks the ticks, d3-shape draws the
 * paths; readings hold until the next one, so the curves are steps.
 */
import { scaleLinear, scaleUtc } from 'd3-scale';
import { area, curveStepAfter, line, stack, symbol, symbolCircle, symbolDiamond, symbolTriangle, type SeriesPoint } from 'd3-shape';
import { describeAction, escapeXml, formatTime } from './format.ts';
import type { Report, ReportAction } from './model.ts';

const WIDTH = 960;
const MARGIN = { top: 16, right: 24, bottom: 44, left: 64 };
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac', '#86bcb6', '#d37295'];
const ACTION_STYLE: Record<ReportAction['type'], { color: string; symbol: typeof symbolCircle; label: string }> = {
  migrate: { color: '#3b3b98', symbol: symbolCircle, label: 'migration' },
  'power-on': { color: '#2e8b57', symbol: symbolTriangle, label: 'power on' },
  'power-off': { color: '#c0392b', symbol: symbolTriangle, label: 'power off' },
  alert: { color: '#e67e22', symbol: symbolDiamond, label: 'alert' },
};

interface TimeAxis {
  x: (ms: number) => number;
  ticks: { ms: number; label: string }[];
  title: string;
}

function timeAxis(report: Report): TimeAxis {
  const range = [MARGIN.left, WIDTH - MARGIN.right];
  const to = report.toMs > report.fromMs ? report.toMs : report.fromMs + 1;
  if (report.timeAxis === 'wall') {
    const scale = scaleUtc().domain([report.fromMs, to]).range(range);
    return { x: (ms) => scale(ms), ticks: scale.ticks(8).map((d) => ({ ms: d.getTime(), label: utcTickLabel(d) })), title: 'time (UTC)' };
  }
  // Simulated time: hours since the start, or minutes for short runs.
  const unitMs = to - report.fromMs >= 3 * 3_600_000 ? 3_600_000 : 60_000;
  const unit = unitMs === 3_600_000 ? 'h' : 'min';
  const scale = scaleLinear().domain([report.fromMs / unitMs, to / unitMs]).range(range);
  return {
    x: (ms) => scale(ms / unitMs),
    ticks: scale.ticks(10).map((v) => ({ ms: v * unitMs, label: `${v} ${unit}` })),
    title: `time since the start of the simulation (${unit})`,
  };
}

/** "Nov 24" at midnight, "14:30" otherwise: 24-hour UTC, as operators read logs. */
function utcTickLabel(d: Date): string {
  const hh = d.getUTCHours();
  const mm = d.getUTCMinutes();
  if (hh === 0 && mm === 0) return d.toLocaleDateString('en', { month: 'short', day: 'numeric', timeZone: 'UTC' });
  return `${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}`;
}

const n = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '0');

function frame(id: string, title: string, height: number, body: string): string {
  return `<svg id="${id}" class="chart" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-labelledby="${id}-title" xmlns="http://www.w3.org/2000/svg">` +
    `<title id="${id}-title">${escapeXml(title)}</title>${body}</svg>`;
}

function axes(axis: TimeAxis, y: { scale: (v: number) => number; ticks: number[]; title: string; format?: (v: number) => string }, plotBottom: number): string {
  const left = MARGIN.left;
  const right = WIDTH - MARGIN.right;
  const yTicks = y.ticks.map((v) =>
    `<g class="tick y"><line x1="${left}" x2="${right}" y1="${n(y.scale(v))}" y2="${n(y.scale(v))}" class="grid"/>` +
    `<text x="${left - 6}" y="${n(y.scale(v))}" dy="0.32em" text-anchor="end">${escapeXml(y.format ? y.format(v) : String(v))}</text></g>`).join('');
  const xTicks = axis.ticks.map((t) =>
    `<g class="tick x"><line x1="${n(axis.x(t.ms))}" x2="${n(axis.x(t.ms))}" y1="${plotBottom}" y2="${plotBottom + 5}" class="axis-line"/>` +
    `<text x="${n(axis.x(t.ms))}" y="${plotBottom + 18}" text-anchor="middle">${escapeXml(t.label)}</text></g>`).join('');
  return `<g class="axis y-axis">${yTicks}<text class="axis-title" transform="translate(16 ${n((MARGIN.top + plotBottom) / 2)}) rotate(-90)" text-anchor="middle">${escapeXml(y.title)}</text></g>` +
    `<g class="axis x-axis"><line x1="${left}" x2="${right}" y1="${plotBottom}" y2="${plotBottom}" class="axis-line"/>${xTicks}` +
    `<text class="axis-title" x="${n((left + right) / 2)}" y="${plotBottom + 38}" text-anchor="middle">${escapeXml(axis.title)}</text></g>`;
}

function actionTooltip(a: ReportAction, report: Report): string {
  const parts = [`${formatTime(a.atMs, report.timeAxis)} ${describeAction(a)}`, `reason: ${a.reason}`];
  if (a.message && a.message !== a.reason) parts.push(a.message);
  if (a.result) parts.push(`result: ${a.result}`);
  return escapeXml(parts.join(' — '));
}

/**
 * Thin vertical lines where migrations and power actions happened, each with its reason as a
 * tooltip. Alerts (possibly one per round) stay in the actions chart so they do not bury these.
 */
function actionMarkers(report: Report, axis: TimeAxis, top: number, bottom: number): string {
  return `<g class="action-markers">${report.actions.filter((a) => a.type !== 'alert').map((a) =>
    `<line class="action-marker ${a.type}" x1="${n(axis.x(a.atMs))}" x2="${n(axis.x(a.atMs))}" y1="${top}" y2="${bottom}" stroke="${ACTION_STYLE[a.type].color}"><title>${actionTooltip(a, report)}</title></line>`).join('')}</g>`;
}

/** Legend items laid out in rows under the plot; returns the SVG and the height it takes. */
function legend(items: { label: string; color: string }[], top: number): { svg: string; height: number } {
  let x = MARGIN.left;
  let y = top;
  const parts: string[] = [];
  for (const item of items) {
    const width = 26 + item.label.length * 7.2;
    if (x + width > WIDTH - MARGIN.right) {
      x = MARGIN.left;
      y += 20;
    }
    parts.push(`<g class="legend-item" transform="translate(${n(x)} ${y})"><rect width="14" height="14" rx="2" fill="${item.color}"/><text x="20" y="11">${escapeXml(item.label)}</text></g>`);
    x += width + 12;
  }
  return { svg: `<g class="legend">${parts.join('')}</g>`, height: y - top + 24 };
}

export function powerChart(report: Report): string {
  const { times, watts } = report.charts;
  const axis = timeAxis(report);
  const plotBottom = 300;
  const rows = times.map((t, i) => {
    const row: Record<string, number> = { t };
    for (const s of watts) row[s.host] = s.values[i] ?? 0;
    return row;
  });
  const layers = stack<Record<string, number>>().keys(watts.map((s) => s.host))(rows);
  const top = Math.max(1, ...layers.flatMap((l) => l.map((p) => p[1])));
  const y = scaleLinear().domain([0, top]).nice().range([plotBottom, MARGIN.top]);
  const shape = area<SeriesPoint<Record<string, number>>>()
    .x((p) => axis.x(p.data.t))
    .y0((p) => y(p[0]))
    .y1((p) => y(p[1]))
    .curve(curveStepAfter);
  const colors = watts.map((_, i) => PALETTE[i % PALETTE.length]);
  const paths = layers.map((layer, i) =>
    `<path class="series" data-host="${escapeXml(layer.key)}" d="${shape(layer) ?? ''}" fill="${colors[i]}" fill-opacity="0.85" stroke="${colors[i]}"><title>${escapeXml(layer.key)}</title></path>`).join('');
  const key = legend(watts.map((s, i) => ({ label: s.host, color: colors[i] })), plotBottom + 52);
  const body = axes(axis, { scale: y, ticks: y.ticks(6), title: 'power (W)' }, plotBottom) +
    `<g class="plot">${paths}</g>` + actionMarkers(report, axis, MARGIN.top, plotBottom) + key.svg;
  return frame('power-chart', 'Power per host over time (stacked, watts)', plotBottom + 52 + key.height, body);
}

export function activeHostsChart(report: Report): string {
  const { times, activeHosts } = report.charts;
  const axis = timeAxis(report);
  const plotBottom = 180;
  const y = scaleLinear().domain([0, Math.max(1, report.hosts.length, ...activeHosts)]).range([plotBottom, MARGIN.top]);
  const path = line<number>().x((_, i) => axis.x(times[i])).y((v) => y(v)).curve(curveStepAfter)(activeHosts) ?? '';
  const ticks = y.ticks(Math.min(6, y.domain()[1])).filter(Number.isInteger);
  const body = axes(axis, { scale: y, ticks, title: 'active hosts' }, plotBottom) +
    `<g class="plot"><path class="series active-hosts" d="${path}" fill="none" stroke="#4e79a7" stroke-width="2.5"><title>powered-on hosts</title></path></g>` +
    actionMarkers(report, axis, MARGIN.top, plotBottom);
  return frame('active-hosts-chart', 'Active (powered-on) hosts over time', plotBottom + 48, body);
}

export function actionsChart(report: Report): string {
  const axis = timeAxis(report);
  const types = (Object.keys(ACTION_STYLE) as ReportAction['type'][]).filter((t) => report.actions.some((a) => a.type === t));
  const rowHeight = 28;
  const plotBottom = MARGIN.top + Math.max(1, types.length) * rowHeight;
  const rowY = (type: ReportAction['type']) => MARGIN.top + types.indexOf(type) * rowHeight + rowHeight / 2;
  const labels = types.map((t) =>
    `<text class="row-label" x="${MARGIN.left - 6}" y="${rowY(t)}" dy="0.32em" text-anchor="end">${ACTION_STYLE[t].label}</text>` +
    `<line class="grid" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${rowY(t)}" y2="${rowY(t)}"/>`).join('');
  const marks = report.actions.map((a) => {
    const style = ACTION_STYLE[a.type];
    const d = symbol(style.symbol, 90)() ?? '';
    const flip = a.type === 'power-off' ? ' rotate(180)' : '';
    return `<g class="action ${a.type}" transform="translate(${n(axis.x(a.atMs))} ${rowY(a.type)})${flip}"><title>${actionTooltip(a, report)}</title>` +
      `<path d="${d}" fill="${style.color}" fill-opacity="0.8" stroke="#fff" stroke-width="0.8"/></g>`;
  }).join('');
  const xAxis = axes(axis, { scale: () => 0, ticks: [], title: '' }, plotBottom);
  const body = labels + xAxis + `<g class="plot">${marks}</g>` +
    (types.length === 0 ? `<text x="${WIDTH / 2}" y="${MARGIN.top + 14}" text-anchor="middle" class="empty">no actions in this window</text>` : '');
  return frame('actions-chart', 'Migrations and power actions over time (hover for the reason)', plotBottom + 48, body);
}
