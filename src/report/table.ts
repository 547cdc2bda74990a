/** The report as plain text for the terminal. */
import { describeAction, formatDuration, formatEnergy, formatPercent, formatTime } from './format.ts';
import type { Report } from './model.ts';
import { savingsSummary } from './savings.ts';

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function renderTable(report: Report): string {
  const t = (ms: number) => formatTime(ms, report.timeAxis);
  const out: string[] = [
    `Tide report: ${report.title}`,
    // Nothing observed: no window to speak of (its times would read 1970).
    report.hosts.length === 0 && report.actions.length === 0
      ? 'window: no history recorded (yet) in this store and time range'
      : `window: ${t(report.fromMs)} → ${t(report.toMs)} (${formatDuration(report.toMs - report.fromMs)})`,
    '',
  ];
  if (report.note) out.push(`note: ${report.note}`, '');
  if (report.hosts.length > 0) {
    const rows = report.hosts.map((h) => [
      h.name,
      formatEnergy(h.energyWh),
      formatEnergy(h.allOnEnergyWh),
      formatEnergy(h.savedWh),
      h.idleWatts === undefined ? '–' : `${h.idleWatts.toFixed(0)} W (${h.idleWattsSource})`,
      formatDuration(h.offMs),
      formatDuration(h.overloadedMs),
    ]);
    rows.push(['total', formatEnergy(report.totalEnergyWh), formatEnergy(report.allOnEnergyWh), formatEnergy(report.savedWh), '', '', '']);
    out.push(table(['host', 'energy', 'all-on', 'saved', 'idle power (source)', 'off', 'overloaded'], rows), '');
    out.push(
      `saving against all hosts on: ${formatEnergy(report.savedWh)} of ${formatEnergy(report.allOnEnergyWh)} ` +
        `(${formatPercent(report.savedWh, report.allOnEnergyWh)}); an off host is charged its idle power in the all-on baseline`,
      `cluster overloaded (average load of active hosts ≥ ${report.overloadThresholdPercent} %): ${formatDuration(report.clusterOverloadedMs)}`,
    );
  }
  const unmeasured = report.hosts.filter((h) => h.unmeasuredMs > 0);
  if (unmeasured.length > 0) {
    out.push(`not counted (on, no power reading): ${unmeasured.map((h) => `${h.name} ${formatDuration(h.unmeasuredMs)}`).join(', ')}`);
  }
  if (report.sourceEnergyWh !== undefined) out.push(`energy as the simulator reported it: ${formatEnergy(report.sourceEnergyWh)}`);
  const migrations = report.actions.filter((a) => a.type === 'migrate').length;
  out.push('', `actions: ${report.actions.length} (${migrations} migrations, ${report.actions.length - migrations} power actions and alerts)`);
  if (report.actions.length > 0) {
    out.push(table(
      ['time', 'action', 'reason', 'result', 'why'],
      report.actions.map((a) => [t(a.atMs), describeAction(a), a.reason, a.result ?? '', a.message && a.message !== a.reason ? a.message : '']),
    ));
  }
  const savings = savingsSummary(report.actions);
  if (savings.rows.length > 0) {
    out.push('', 'savings per power-off, predicted (idle watts over the window) and measured (meter readings while off):');
    out.push(table(
      ['time', 'host', 'predicted', 'measured', 'idle → off (measured)', 'off', 'until'],
      savings.rows.map(({ action: a }) => {
        const p = a.predictedSaving;
        const m = a.measuredSaving;
        return [
          t(a.atMs),
          a.host ?? '?',
          p ? `${formatEnergy(p.energyWh)} (${p.watts.toFixed(0)} W × ${formatDuration(p.windowMs)})` : '–',
          m ? formatEnergy(m.energyWh) : 'not yet',
          m ? `${m.idleWatts.toFixed(1)} W (${m.idleWattsSource}) → ${m.offWatts.toFixed(1)} W` : '',
          m ? formatDuration(m.offMs) : '',
          m ? (m.ended === 'host-on' ? 'host back on' : 'window end') : '',
        ];
      }),
    ));
    out.push(`total over the ${savings.compared} power-off(s) measured: predicted ${formatEnergy(savings.predictedWh)}, measured ${formatEnergy(savings.measuredWh)}`);
  }
  return out.join('\n') + '\n';
}
