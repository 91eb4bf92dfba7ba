/**
 * The arithmetic of the session page's charts (web/src/chart.ts): when an axis goes logarithmic,
 * its ends and ticks, where values land, how numbers and ticks read, the series' looks and the
 * words a screen reader hears.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Chart } from '../../../common/api.js';
import {
  axisFor,
  axisTitle,
  ceil125,
  chartRows,
  describeChart,
  floor125,
  formatNumber,
  hasPoints,
  linearAxis,
  logAxis,
  markerPath,
  project,
  seriesStyle,
  tickFormatter,
  ticksThatFit,
  wantsLog,
  X_LOG_RATIO,
  Y_LOG_RATIO,
} from '../../../web/src/chart.js';

/** The chart the kube-proxy lab draws: adding one Service, by mode, over the number of Services. */
const addOne: Chart = {
  title: 'Adding one Service',
  xLabel: 'Services already there',
  yLabel: 'milliseconds',
  series: [
    {
      name: 'iptables',
      points: [
        { x: 100, y: 12 },
        { x: 1000, y: 180 },
        { x: 5000, y: 1400 },
        { x: 20000, y: 5100 },
      ],
    },
    {
      name: 'ipvs',
      points: [
        { x: 100, y: 0.5 },
        { x: 1000, y: 0.6 },
        { x: 5000, y: 0.7 },
        { x: 20000, y: 0.9 },
      ],
    },
  ],
};

describe('wantsLog', () => {
  it('goes logarithmic only above the ratio', () => {
    assert.equal(wantsLog([1, 50], Y_LOG_RATIO), false);
    assert.equal(wantsLog([1, 50.5], Y_LOG_RATIO), true);
    assert.equal(wantsLog([0.5, 5000], Y_LOG_RATIO), true);
    assert.equal(wantsLog([100, 1000], X_LOG_RATIO), false);
    assert.equal(wantsLog([100, 5000], X_LOG_RATIO), true);
  });
  it('never with a value of zero or less, nor with fewer than two values', () => {
    assert.equal(wantsLog([0, 10, 5000], Y_LOG_RATIO), false);
    assert.equal(wantsLog([-1, 5000], Y_LOG_RATIO), false);
    assert.equal(wantsLog([5000], Y_LOG_RATIO), false);
    assert.equal(wantsLog([], Y_LOG_RATIO), false);
    assert.equal(wantsLog([1, NaN, 2], Y_LOG_RATIO), false);
  });
});

describe('linearAxis', () => {
  it('ends on round steps and labels each', () => {
    assert.deepEqual(linearAxis(0, 2400, 6), { kind: 'linear', domain: [0, 2500], ticks: [0, 500, 1000, 1500, 2000, 2500] });
    assert.deepEqual(linearAxis(100, 1000, 6).ticks, [0, 200, 400, 600, 800, 1000]);
    assert.deepEqual(linearAxis(0, 1, 6).ticks, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  });
  it('takes a coarser step when the finer needs too many ticks', () => {
    const axis = linearAxis(0, 97, 4);
    assert.ok(axis.ticks.length <= 4, String(axis.ticks));
    assert.deepEqual(axis.ticks, [0, 50, 100]);
  });
  it('has no float noise in its ticks', () => {
    for (const t of linearAxis(0.1, 0.7, 8).ticks) assert.equal(t, Number(t.toFixed(6)));
  });
  it('spreads a single value', () => {
    assert.deepEqual(linearAxis(0, 0, 5).domain, [0, 1]);
    const around = linearAxis(40, 40, 5);
    assert.ok(around.domain[0] < 40 && around.domain[1] > 40, String(around.domain));
  });
  it('covers negative values', () => {
    const axis = linearAxis(-3, 7, 6);
    assert.ok(axis.domain[0] <= -3 && axis.domain[1] >= 7);
  });
});

describe('logAxis', () => {
  it('rounds its ends out to 1, 2 or 5 times a power of ten', () => {
    assert.equal(floor125(0.42), 0.2);
    assert.equal(floor125(0.5), 0.5);
    assert.equal(floor125(7300), 5000);
    assert.equal(floor125(1), 1);
    assert.equal(ceil125(0.42), 0.5);
    assert.equal(ceil125(5100), 10000);
    assert.equal(ceil125(2000), 2000);
    assert.equal(ceil125(0.3), 0.5);
    assert.deepEqual(logAxis(0.42, 5100, 10).domain, [0.2, 10000]);
  });
  it('labels 1-2-5 when there is room, powers of ten when there is not', () => {
    assert.deepEqual(logAxis(100, 20000, 10).ticks, [100, 200, 500, 1000, 2000, 5000, 10000, 20000]);
    assert.deepEqual(logAxis(100, 20000, 6).ticks, [100, 300, 1000, 3000, 10000]);
    assert.deepEqual(logAxis(100, 20000, 4).ticks, [100, 1000, 10000]);
    assert.deepEqual(logAxis(0.5, 5000, 6).ticks, [1, 10, 100, 1000]);
  });
  it('skips powers when even they are too many', () => {
    const axis = logAxis(0.001, 1e6, 4);
    assert.ok(axis.ticks.length <= 4 && axis.ticks.length >= 2, String(axis.ticks));
    assert.deepEqual(axis.ticks, [0.001, 1, 1000, 1e6]);
  });
  it('keeps its ticks within its ends', () => {
    const axis = logAxis(0.7, 3000, 12);
    for (const t of axis.ticks) assert.ok(t >= axis.domain[0] && t <= axis.domain[1], `${t} outside ${axis.domain.join('..')}`);
  });
});

describe('axisFor', () => {
  it('is logarithmic for the timings of iptables and ipvs, linear for two sizes', () => {
    const ys = addOne.series.flatMap((s) => s.points.map((p) => p.y));
    assert.equal(axisFor(ys, { logRatio: Y_LOG_RATIO, maxTicks: 8, fromZero: true }).kind, 'log');
    assert.equal(axisFor([100, 1000], { logRatio: X_LOG_RATIO, maxTicks: 8 }).kind, 'linear');
    assert.equal(axisFor([100, 20000], { logRatio: X_LOG_RATIO, maxTicks: 8 }).kind, 'log');
  });
  it('starts a linear y axis at zero, not a linear x axis', () => {
    assert.equal(axisFor([30, 40], { logRatio: Y_LOG_RATIO, maxTicks: 6, fromZero: true }).domain[0], 0);
    assert.equal(axisFor([1000, 1200], { logRatio: X_LOG_RATIO, maxTicks: 6 }).domain[0], 1000);
  });
  it('copes with no values', () => {
    assert.deepEqual(axisFor([], { logRatio: Y_LOG_RATIO, maxTicks: 6 }).domain, [0, 1]);
  });
});

describe('project', () => {
  it('maps the ends to the pixels given, the middle linearly or by decades', () => {
    const lin = linearAxis(0, 100, 6);
    assert.equal(project(lin, 0, 10, 110), 10);
    assert.equal(project(lin, 50, 10, 110), 60);
    // Upwards on screen: the low end at the larger pixel.
    assert.equal(project(lin, 100, 200, 0), 0);
    const log = logAxis(1, 1000, 6);
    assert.equal(project(log, 1, 0, 300), 0);
    assert.ok(Math.abs(project(log, 10, 0, 300) - 100) < 1e-9);
    assert.ok(Math.abs(project(log, 1000, 0, 300) - 300) < 1e-9);
  });
});

describe('ticksThatFit', () => {
  it('fits at least two', () => {
    assert.equal(ticksThatFit(300, 54), 5);
    assert.equal(ticksThatFit(20, 54), 2);
  });
});

describe('formatNumber and tickFormatter', () => {
  it('reads like a measurement', () => {
    assert.equal(formatNumber(0.42), '0.42');
    assert.equal(formatNumber(0.4234), '0.423');
    assert.equal(formatNumber(12.345), '12.3');
    assert.equal(formatNumber(2400), '2,400');
    assert.equal(formatNumber(1234.56), '1,235');
    assert.equal(formatNumber(52000), '52,000');
    assert.equal(formatNumber(0), '0');
    assert.equal(formatNumber(0.0051), '0.0051');
    assert.equal(formatNumber(-3.5), '-3.5');
    assert.equal(formatNumber(0.42351, 4), '0.4235');
    assert.equal(formatNumber(NaN), 'NaN');
  });
  it('shortens large ticks, the whole axis alike', () => {
    const big = tickFormatter([100, 1000, 10000, 20000]);
    assert.deepEqual([100, 1000, 5000, 20000].map(big), ['100', '1k', '5k', '20k']);
    const small = tickFormatter([0, 500, 2500]);
    assert.deepEqual([0, 500, 2500].map(small), ['0', '500', '2,500']);
    const huge = tickFormatter([1, 1000, 1e6, 1e7]);
    assert.deepEqual([1, 1000, 1e7].map(huge), ['1', '1k', '10M']);
    assert.equal(tickFormatter([0.1, 1])(0.1), '0.1');
  });
  it('says when an axis is logarithmic', () => {
    assert.equal(axisTitle('milliseconds', logAxis(1, 1000, 5)), 'milliseconds (log scale)');
    assert.equal(axisTitle('milliseconds', linearAxis(1, 10, 5)), 'milliseconds');
  });
});

describe('seriesStyle and markerPath', () => {
  it('never tells series apart by colour alone', () => {
    const styles = Array.from({ length: 6 }, (_, i) => seriesStyle(i));
    assert.equal(new Set(styles.map((s) => s.colourClass)).size, 6);
    assert.equal(new Set(styles.map((s) => s.marker)).size, 6);
    assert.equal(new Set(styles.map((s) => s.dash)).size, 6);
    assert.equal(seriesStyle(0).dash, '', 'the first line is solid');
    assert.deepEqual(seriesStyle(6), seriesStyle(0));
  });
  it('draws closed marker paths around the point', () => {
    for (const shape of ['circle', 'square', 'triangle', 'diamond', 'triangle-down', 'cross'] as const) {
      const d = markerPath(shape, 50, 40, 4);
      assert.match(d, /^M[\d.]+ [\d.]+.*Z$/, shape);
      const numbers = d.match(/-?\d+(\.\d+)?/g)!.map(Number);
      assert.ok(
        numbers.every((v) => Number.isFinite(v)),
        shape,
      );
    }
    assert.equal(markerPath('square', 10, 10, 5), 'M5.5 5.5H14.5V14.5H5.5Z');
  });
});

describe('chartRows and describeChart', () => {
  it('gives one row per x, with a gap where a series has no value', () => {
    const chart: Chart = {
      ...addOne,
      series: [
        { name: 'iptables', points: [{ x: 100, y: 12 }] },
        {
          name: 'ipvs',
          points: [
            { x: 100, y: 0.5 },
            { x: 1000, y: 0.6 },
          ],
        },
      ],
    };
    assert.deepEqual(chartRows(chart), [
      { x: 100, ys: [12, 0.5] },
      { x: 1000, ys: [undefined, 0.6] },
    ]);
    assert.equal(hasPoints(chart), true);
    assert.equal(hasPoints({ ...chart, series: [{ name: 'ipvs', points: [] }] }), false);
  });
  it('says what is plotted, on which scales, and the values', () => {
    const x = axisFor([100, 20000], { logRatio: X_LOG_RATIO, maxTicks: 6 });
    const y = axisFor([0.5, 5100], { logRatio: Y_LOG_RATIO, maxTicks: 6, fromZero: true });
    assert.equal(
      describeChart(addOne, x, y),
      'Adding one Service: chart of milliseconds (log scale) against Services already there (log scale), 2 lines. ' +
        'iptables: 12 at 100, 180 at 1,000, 1,400 at 5,000, 5,100 at 20,000. ipvs: 0.5 at 100, 0.6 at 1,000, 0.7 at 5,000, 0.9 at 20,000.',
    );
  });
  it('sums up a long series by its ends', () => {
    const points = Array.from({ length: 10 }, (_, i) => ({ x: i + 1, y: (i + 1) * 2 }));
    const chart: Chart = { title: 'T', xLabel: 'x', yLabel: 'y', series: [{ name: 'only', points }] };
    const axis = linearAxis(0, 20, 5);
    assert.equal(describeChart(chart, axis, axis), 'T: chart of y against x, one line. only: 10 values, from 2 at 1 to 20 at 10.');
  });
});
