/**
 * A learner's measurements drawn in a real browser: a results-file check fails until the file has
 * them, then passes and the page draws its chart (an SVG with a summary for screen readers, a
 * legend that does not rely on colour, and the numbers as a table); checking again replaces the
 * chart, and at 400 px wide it still fits the step panel. The fixture lab runs on a stock Debian
 * image: no IPVS needed.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { PROJECT_ROOT } from '../../server/src/config.js';
import { browserSkipReason, launchBrowser, pressCheck, typeWithMarker } from '../utils/browser.js';
import { engineSkipReason } from '../utils/engine.js';
import { startLabServer, type RunningLabServer } from '../utils/lab-server.js';

const skip = (await engineSkipReason()) || browserSkipReason();
const LABS = path.join(PROJECT_ROOT, 'test', 'fixtures', 'labs-chart');

const check = (page: Page) => pressCheck(page);

/** The numbers table: its header row, then one row per x, as the cells' text. */
async function tableCells(page: Page): Promise<string[][]> {
  return page.$$eval('#step .check-chart table tr', (rows) => rows.map((r) => Array.from(r.children, (c) => c.textContent ?? '')));
}

const MEASURE = "printf '#result mode=%s n=%s add_ms=%s\\n' ipvs 100 0.5 ipvs 1000 0.8 iptables 100 40 iptables 1000 2400 > /root/results";

describe('a learner sees their measurements drawn', { skip }, () => {
  let lab: RunningLabServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    lab = await startLabServer({ labsDir: LABS, requireIpvs: false });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // A chart built against the page's Content-Security-Policy would say so here.
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) pageErrors.push(`${m.text()} (${m.location().url})`);
    });
  });
  after(async () => {
    await browser?.close();
    await lab?.stop();
  });

  it('starts the lab', async () => {
    await page.goto(lab.baseUrl);
    await page.waitForFunction(() => !document.querySelector<HTMLButtonElement>('button.start')?.disabled);
    await page.click('button.start[data-lab="measure"]');
    await page.waitForURL(/\/s\/[0-9a-f]+$/, { timeout: 120_000 });
    await page.waitForSelector('#terminal-state[data-state="connected"]', { timeout: 60_000 });
    assert.equal(await page.getAttribute('#step', 'data-step'), 'measure');
  });

  it('fails while the file has no measurements, and draws nothing', async () => {
    const result = await check(page);
    assert.equal(result.passed, false);
    assert.ok(result.text.startsWith('✗ /root/results has no measurements for 1000 Services yet'), result.text);
    assert.equal(await page.locator('#step .check-chart').count(), 0);
    assert.equal(await page.locator('#check-result .show-chart').count(), 0);
  });

  it('passes once the learner has written them, and draws them', async () => {
    await page.waitForFunction(() => document.querySelector('.xterm-rows')?.textContent?.includes('root@host'));
    await typeWithMarker(page, MEASURE, 'results-written');
    const result = await check(page);
    assert.equal(result.passed, true, result.text);
    assert.match(result.text, /has all 2 measurements/);
    assert.equal(await page.locator('#check-result button.show-chart').textContent(), 'Show the chart');

    const chart = page.locator('#step .check-chart');
    assert.equal(await chart.count(), 1);
    assert.equal(await chart.locator('h2').textContent(), 'Adding one Service');
    const svg = chart.locator('svg[role="img"]');
    await svg.waitFor();
    assert.ok(await svg.isVisible());
    const label = (await svg.getAttribute('aria-label')) ?? '';
    assert.match(label, /^Adding one Service: chart of milliseconds \(log scale\) against Services already there, 2 lines\./);
    assert.match(label, /ipvs: 0\.5 at 100, 0\.8 at 1,000/);
    assert.match(label, /iptables: 40 at 100, 2,400 at 1,000/);

    // 0.5 to 2400 ms: a log y axis, and it says so; 100 to 1000 Services: a linear x axis.
    const axisTitles = await svg.locator('.chart-axis-titles text').allTextContents();
    assert.deepEqual(axisTitles, ['milliseconds (log scale)', 'Services already there']);
    const ticks = await svg.locator('.chart-ticks text').allTextContents();
    assert.ok(ticks.includes('1') && ticks.includes('1,000'), `y ticks by powers of ten: ${ticks.join(' ')}`);

    // Two lines, told apart by colour, marker and dashes, and named in the legend.
    assert.deepEqual(await chart.locator('.chart-legend li').allTextContents(), ['ipvs', 'iptables']);
    const looks = await svg.locator('.chart-series > g').evaluateAll((groups) =>
      groups.map((g) => ({
        name: g.getAttribute('data-series'),
        marker: g.getAttribute('data-marker'),
        dash: g.querySelector('.chart-line')?.getAttribute('stroke-dasharray') ?? '',
        colour: getComputedStyle(g.querySelector('.chart-line')!).stroke,
        markers: g.querySelectorAll('.chart-marker').length,
      })),
    );
    assert.deepEqual(
      looks.map((l) => [l.name, l.markers]),
      [
        ['ipvs', 2],
        ['iptables', 2],
      ],
    );
    assert.notEqual(looks[0]!.marker, looks[1]!.marker);
    assert.notEqual(looks[0]!.dash, looks[1]!.dash);
    assert.notEqual(looks[0]!.colour, looks[1]!.colour);
    assert.deepEqual(
      await chart.locator('.chart-legend li').evaluateAll((items) => items.map((li) => li.getAttribute('data-marker'))),
      looks.map((l) => l.marker),
    );

    // The numbers, in a real table, folded away but in the page for screen readers.
    assert.equal(await chart.locator('details.chart-numbers summary').textContent(), 'Show the numbers');
    assert.equal(await chart.locator('details.chart-numbers').getAttribute('open'), null);
    assert.match((await chart.locator('table caption').textContent()) ?? '', /^Adding one Service/);
    assert.deepEqual(await tableCells(page), [
      ['Services already there', 'ipvs', 'iptables'],
      ['100', '0.5', '40'],
      ['1,000', '0.8', '2,400'],
    ]);
    assert.deepEqual(await chart.locator('table th[scope="col"]').count(), 3);
    assert.deepEqual(await chart.locator('table th[scope="row"]').count(), 2);
  });

  it('replaces the chart when the learner measures again and checks', async () => {
    await page.click('#step details.chart-numbers summary');
    await typeWithMarker(page, "echo '#result mode=iptables n=1000 add_ms=2600' >> /root/results", 'appended');
    const result = await check(page);
    assert.equal(result.passed, true, result.text);
    assert.equal(await page.locator('#step .check-chart').count(), 1, 'one chart, the new one');
    assert.equal(await page.locator('#step svg[role="img"]').count(), 1);
    assert.deepEqual((await tableCells(page))[2], ['1,000', '0.8', '2,600']);
    assert.match((await page.getAttribute('#step svg[role="img"]', 'aria-label')) ?? '', /iptables: 40 at 100, 2,600 at 1,000/);
    assert.notEqual(await page.locator('#step details.chart-numbers').getAttribute('open'), null, 'the numbers stay unfolded');
  });

  it('fits the step panel at 400 px wide', async () => {
    await page.setViewportSize({ width: 400, height: 800 });
    // Redrawn at the width it now has.
    await page.waitForFunction(() => {
      const plot = document.querySelector<HTMLElement>('#step .chart-plot');
      const svg = plot?.querySelector('svg');
      return !!plot && !!svg && Number(svg.getAttribute('width')) === Math.floor(plot.clientWidth);
    });
    const fit = await page.evaluate(() => {
      const step = document.getElementById('step')!;
      const svg = step.querySelector<SVGSVGElement>('svg[role="img"]')!;
      const table = step.querySelector<HTMLElement>('.check-chart table')!;
      const box = step.getBoundingClientRect();
      return {
        stepScroll: step.scrollWidth - step.clientWidth,
        pageScroll: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        svgWidth: svg.getBoundingClientRect().width,
        svgOverRight: svg.getBoundingClientRect().right - box.right,
        tableOverRight: table.getBoundingClientRect().right - box.right,
      };
    });
    assert.ok(fit.stepScroll <= 0, `the step panel scrolls sideways by ${fit.stepScroll} px`);
    assert.ok(fit.pageScroll <= 0, `the page scrolls sideways by ${fit.pageScroll} px`);
    assert.ok(fit.svgOverRight <= 0 && fit.tableOverRight <= 0, JSON.stringify(fit));
    assert.ok(fit.svgWidth > 250 && fit.svgWidth < 400, `the chart is ${fit.svgWidth} px wide`);
    // Its tick labels do not run into one another.
    const overlaps = await page.$$eval('#step .chart-ticks text', (texts) => {
      const boxes = texts.map((t) => t.getBoundingClientRect());
      let count = 0;
      for (let i = 0; i < boxes.length; i++)
        for (let j = i + 1; j < boxes.length; j++) {
          const a = boxes[i]!;
          const b = boxes[j]!;
          if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) count++;
        }
      return count;
    });
    assert.equal(overlaps, 0);
    assert.deepEqual(pageErrors, []);
  });
});
