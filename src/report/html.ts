/** The report as one self-contained HTML page: inline CSS and SVG, no scripts, no external assets. */
import { actionsChart, activeHostsChart, powerChart } from './charts.ts';
import { describeAction, escapeXml, formatDuration, formatEnergy, formatPercent, formatTime } from './format.ts';
import type { Report } from './model.ts';

const CSS = `
body{font:14px/1.45 "Liberation Sans",Arial,Helvetica,sans-serif;color:#222;margin:24px auto;max-width:1000px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.sub{color:#666;margin:0 0 16px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:160px}
.card .v{font-size:20px;font-weight:bold}.card .k{color:#666;font-size:12px}
.card.good .v{color:#2e7d32}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid #eee;padding:4px 8px;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tr.total td{font-weight:bold;border-top:2px solid #ccc}
.note{background:#fff8e1;border:1px solid #f0d98c;border-radius:6px;padding:8px 12px}
.method{color:#555;font-size:13px}
svg.chart{display:block;max-width:100%;height:auto;font-size:12px}
svg .grid{stroke:#eee}svg .axis-line{stroke:#888}svg text{fill:#333}
svg .axis-title{fill:#555;font-size:12px}
svg .action-marker{stroke-width:1;stroke-dasharray:3 3;opacity:.7}
`;

function cards(report: Report): string {
  const card = (value: string, label: string, cls = '') => `<div class="card ${cls}"><div class="v">${escapeXml(value)}</div><div class="k">${escapeXml(label)}</div></div>`;
  const migrations = report.actions.filter((a) => a.type === 'migrate').length;
  const power = report.actions.filter((a) => a.type === 'power-on' || a.type === 'power-off').length;
  const list = [
    report.hosts.length > 0 ? card(formatEnergy(report.totalEnergyWh), 'energy used') : '',
    report.hosts.length > 0 ? card(formatEnergy(report.allOnEnergyWh), 'had all hosts stayed on') : '',
    report.hosts.length > 0 ? card(`${formatEnergy(report.savedWh)} (${formatPercent(report.savedWh, report.allOnEnergyWh)})`, 'saved against all hosts on', 'good') : '',
    report.sourceEnergyWh !== undefined ? card(formatEnergy(report.sourceEnergyWh), 'energy (simulator’s figure)') : '',
    card(String(migrations), 'migrations'),
    card(String(power), 'hosts powered on/off'),
    report.hosts.length > 0 ? card(formatDuration(report.clusterOverloadedMs), `cluster overloaded (avg ≥ ${report.overloadThresholdPercent} %)`) : '',
  ];
  return `<div class="cards">${list.join('')}</div>`;
}

function hostTable(report: Report): string {
  const rows = report.hosts.map((h) => `<tr><td>${escapeXml(h.name)}</td><td class="n">${formatEnergy(h.energyWh)}</td><td class="n">${formatEnergy(h.allOnEnergyWh)}</td>` +
    `<td class="n">${formatEnergy(h.savedWh)}</td><td class="n">${h.idleWatts === undefined ? '–' : `${h.idleWatts.toFixed(0)} W`}</td><td>${h.idleWattsSource}</td>` +
    `<td class="n">${formatDuration(h.offMs)}</td><td class="n">${formatDuration(h.overloadedMs)}</td></tr>`).join('');
  return `<table id="hosts"><thead><tr><th>host</th><th class="n">energy</th><th class="n">all-on</th><th class="n">saved</th><th class="n">idle power</th><th>idle from</th><th class="n">off</th><th class="n">overloaded</th></tr></thead>` +
    `<tbody>${rows}<tr class="total"><td>total</td><td class="n">${formatEnergy(report.totalEnergyWh)}</td><td class="n">${formatEnergy(report.allOnEnergyWh)}</td><td class="n">${formatEnergy(report.savedWh)}</td><td colspan="4"></td></tr></tbody></table>`;
}

function actionTable(report: Report): string {
  if (report.actions.length === 0) return '<p>No migrations or power actions in this window.</p>';
  const why = (a: Report['actions'][number]) => (a.message && a.message !== a.reason ? a.message : '');
  // Columns the source has nothing for (a simulation knows no outcomes) are left out.
  const columns: [string, (a: Report['actions'][number]) => string][] = [
    ['time', (a) => formatTime(a.atMs, report.timeAxis)],
    ['action', describeAction],
    ['reason', (a) => a.reason],
    ['result', (a) => a.result ?? ''],
    ['why', why],
  ];
  const shown = columns.filter(([, cell]) => report.actions.some((a) => cell(a) !== ''));
  const head = shown.map(([name]) => `<th>${name}</th>`).join('');
  const rows = report.actions.map((a) => `<tr>${shown.map(([, cell]) => `<td>${escapeXml(cell(a))}</td>`).join('')}</tr>`).join('');
  return `<table id="actions"><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>`;
}

function unmeasured(report: Report): string {
  const hosts = report.hosts.filter((h) => h.unmeasuredMs > 0);
  if (hosts.length === 0) return '';
  return `<p class="note">Not counted in energy (on, but no power reading): ${escapeXml(hosts.map((h) => `${h.name} ${formatDuration(h.unmeasuredMs)}`).join(', '))}.</p>`;
}

export function renderHtml(report: Report): string {
  const t = (ms: number) => formatTime(ms, report.timeAxis);
  const hasSeries = report.charts.times.length > 1;
  const charts = hasSeries
    ? `<h2>Power per host</h2>${powerChart(report)}<h2>Active hosts</h2>${activeHostsChart(report)}`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tide report: ${escapeXml(report.title)}</title><style>${CSS}</style></head>
<body>
<h1>Tide report: ${escapeXml(report.title)}</h1>
<p class="sub">${escapeXml(`${t(report.fromMs)} → ${t(report.toMs)} (${formatDuration(report.toMs - report.fromMs)})`)}</p>
${report.note ? `<p class="note">${escapeXml(report.note)}</p>` : ''}
${cards(report)}
${charts}
<h2>Migrations and power actions</h2>${actionsChart(report)}
${report.hosts.length > 0 ? `<h2>Energy per host</h2>${hostTable(report)}${unmeasured(report)}` : ''}
<h2>Actions and their reasons</h2>${actionTable(report)}
<h2>How the numbers are computed</h2>
<p class="method">Each power reading holds until the host's next reading; energy is that power integrated over time.
The all-hosts-on baseline charges every host what it drew while it was on and its idle power while it was off
(configured, or fitted as the intercept of watts against CPU load from its own readings, or its lowest reading while on).
With a linear power model spreading the same load over more hosts costs exactly their idle power, so the difference is what
powering hosts off saved. A host is overloaded while its CPU load is at or above ${report.overloadThresholdPercent} %; the cluster
while the average load of its active hosts is.</p>
</body></html>
`;
}
