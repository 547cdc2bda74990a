/**
 * Renders the report page in real headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core so the DOM can be queried after layout) and checks that the charts are drawn:
 * paths with real geometry, axis labels, legend, action tooltips, and no request leaving the file.
 * Set TIDE_REPORT_SCREENSHOT=/path.png to keep a screenshot.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile, copyFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { buildReport } from '../../src/report/analyse.ts';
import { simulationToReportInput } from '../../src/report/from-simulation.ts';
import { renderHtml } from '../../src/report/html.ts';
import { paperDay } from './paper-day.ts';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

test('the report page draws its charts in headless Chromium', { timeout: 120_000 }, async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install the Debian package chromium (scripts/system-deps/store.txt)`);
  const dir = await mkdtemp(join(tmpdir(), 'tide-report-html-'));
  const profile = join(dir, 'profile');
  const page = join(dir, 'report.html');
  await writeFile(page, renderHtml(buildReport(simulationToReportInput(paperDay()))));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: FLAGS, headless: true, viewport: { width: 1040, height: 900 }, timeout: 60_000 });
  try {
    const tab = await context.newPage();
    const requests: string[] = [];
    tab.on('request', (r) => requests.push(r.url()));
    // tsx compiles the evaluate() callback with esbuild's keepNames, which calls a __name helper
    // that exists only in Node; give the page a no-op one.
    await tab.addInitScript('globalThis.__name = (f) => f');
    await tab.goto(pathToFileURL(page).href, { waitUntil: 'load' });
    const drawn = await tab.evaluate(() => {
      const svg = (id: string) => document.getElementById(id) as unknown as SVGSVGElement;
      const texts = (root: Element, sel: string) => [...root.querySelectorAll(sel)].map((e) => e.textContent ?? '');
      const geometry = (p: SVGGeometryElement) => ({ length: p.getTotalLength(), box: { width: p.getBBox().width, height: p.getBBox().height }, points: (p.getAttribute('d') ?? '').split(/[LMHVZ]/i).length });
      const power = svg('power-chart');
      const active = svg('active-hosts-chart');
      const actions = svg('actions-chart');
      return {
        series: [...power.querySelectorAll<SVGPathElement>('path.series')].map((p) => ({ host: p.dataset.host, ...geometry(p) })),
        legend: texts(power, '.legend-item text'),
        xLabels: texts(power, '.x-axis .tick text'),
        yLabels: texts(power, '.y-axis .tick text'),
        axisTitles: texts(power, '.axis-title'),
        active: geometry(active.querySelector<SVGPathElement>('path.active-hosts')!),
        activeYLabels: texts(active, '.y-axis .tick text'),
        markers: power.querySelectorAll('.action-marker').length,
        actionTitles: texts(actions, 'g.action > title'),
        actionBoxes: [...actions.querySelectorAll<SVGGElement>('g.action')].map((g) => g.getBoundingClientRect().width),
        plotWidth: power.getBoundingClientRect().width,
      };
    });
    assert.deepEqual(drawn.series.map((s) => s.host), ['node1', 'node2', 'node3', 'node4']);
    for (const s of drawn.series) {
      assert.ok(s.points > 100, `${s.host}: a path through the timeline, got ${s.points} points`);
      assert.ok(s.box.width > 700 && s.box.height > 20, `${s.host}: drawn across the plot, bbox ${s.box.width}×${s.box.height}`);
      assert.ok(s.length > 1000, `${s.host}: outline length ${s.length}`);
    }
    assert.deepEqual(drawn.legend, ['node1', 'node2', 'node3', 'node4']);
    assert.equal(drawn.xLabels[0], '0 h');
    assert.equal(drawn.xLabels.at(-1), '24 h');
    assert.ok(drawn.yLabels.includes('0') && drawn.yLabels.length >= 4, `y ticks ${drawn.yLabels}`);
    assert.deepEqual(drawn.axisTitles, ['power (W)', 'time since the start of the simulation (h)']);
    assert.ok(drawn.active.box.height > 50 && drawn.active.box.width > 700, 'active-hosts line spans the chart and its 2↔4 drop');
    assert.deepEqual(drawn.activeYLabels, ['0', '1', '2', '3', '4']);
    assert.equal(drawn.markers, 7);
    assert.equal(drawn.actionTitles.length, 7);
    assert.match(drawn.actionTitles[0], /^\+0:51:00 migrate vm-7 node3→node1 — reason: Consolidate: load 120 %/);
    assert.ok(drawn.actionBoxes.every((w) => w > 5), 'every action symbol has a size');
    assert.deepEqual(requests, [pathToFileURL(page).href], 'the page loads nothing but itself');

    const shot = join(dir, 'report.png');
    await tab.screenshot({ path: shot, fullPage: true });
    assert.ok((await stat(shot)).size > 20_000, 'a screenshot with content');
    if (process.env.TIDE_REPORT_SCREENSHOT) await copyFile(shot, process.env.TIDE_REPORT_SCREENSHOT);
  } finally {
    await context.close();
    await rm(dir, { recursive: true, force: true });
  }
});
