/**
 * Draws a check result's chart (`CheckResult.chart`): an SVG line chart, a legend and the same
 * numbers as a table. Built node by node from text, never from HTML: the names come from files the
 * learner wrote. The SVG is drawn at the width it gets, in real pixels (so its text keeps its
 * size on a phone), and again when that width changes.
 */
import type { Chart } from '../../common/api.js';
import { attrs, el } from './dom.js';
import {
  axisFor,
  axisTitle,
  chartRows,
  describeChart,
  formatNumber,
  hasPoints,
  markerPath,
  project,
  seriesStyle,
  tickFormatter,
  ticksThatFit,
  X_LOG_RATIO,
  Y_LOG_RATIO,
} from './chart.js';

const SVG = 'http://www.w3.org/2000/svg';
/** About how wide a character of the charts' 11 px text is, to leave room for labels. */
const CHAR_PX = 7;
let made = 0;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Readonly<Record<string, string | number>> = {}, ...children: (Node | string)[]) {
  const node = attrs(document.createElementNS(SVG, tag), attributes);
  node.append(...children);
  return node;
}

/** The drawing, `width` pixels wide. */
function drawing(chart: Chart, width: number): SVGSVGElement {
  // A height of its own, not one that follows the width: a redraw must not change whether the
  // step panel needs a scroll bar, which would change the width again.
  const height = 270;
  const xs = chart.series.flatMap((s) => s.points.map((p) => p.x));
  const ys = chart.series.flatMap((s) => s.points.map((p) => p.y));
  // The y ticks first: their labels' width decides where the plot starts.
  const top = 26;
  const bottom = 44;
  const y = axisFor(ys, { logRatio: Y_LOG_RATIO, maxTicks: ticksThatFit(height - top - bottom, 28), fromZero: true });
  const yTick = tickFormatter(y.ticks);
  const left = 10 + CHAR_PX * Math.max(...y.ticks.map((t) => yTick(t).length));
  const right = 22;
  const plotWidth = Math.max(40, width - left - right);
  const x = axisFor(xs, { logRatio: X_LOG_RATIO, maxTicks: ticksThatFit(plotWidth, CHAR_PX * 6 + 12) });
  const xTick = tickFormatter(x.ticks);
  // The lowest values sit a little off the axes, where their markers do not hide in the axis line.
  const inset = 6;
  const px = (v: number) => project(x, v, left + inset, left + plotWidth);
  const py = (v: number) => project(y, v, height - bottom - inset, top);
  const r = (v: number) => Math.round(v * 10) / 10;

  const root = svg('svg', { class: 'chart-svg', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': describeChart(chart, x, y) });
  const grid = svg('g', { class: 'chart-grid' });
  const labels = svg('g', { class: 'chart-ticks' });
  for (const t of y.ticks) {
    grid.append(svg('line', { x1: left, x2: left + plotWidth, y1: r(py(t)), y2: r(py(t)) }));
    labels.append(svg('text', { x: left - 6, y: r(py(t)), 'text-anchor': 'end', 'dominant-baseline': 'middle' }, yTick(t)));
  }
  for (const t of x.ticks) {
    grid.append(svg('line', { x1: r(px(t)), x2: r(px(t)), y1: top, y2: height - bottom }));
    labels.append(svg('text', { x: r(px(t)), y: height - bottom + 16, 'text-anchor': 'middle' }, xTick(t)));
  }
  const axes = svg('path', { class: 'chart-axis', d: `M${left} ${top}V${height - bottom}H${left + plotWidth}` });
  const titles = svg(
    'g',
    { class: 'chart-axis-titles' },
    svg('text', { x: 2, y: 12 }, axisTitle(chart.yLabel, y)),
    svg('text', { x: left + plotWidth / 2, y: height - 6, 'text-anchor': 'middle' }, axisTitle(chart.xLabel, x)),
  );
  const lines = svg('g', { class: 'chart-series' });
  chart.series.forEach((series, i) => {
    const style = seriesStyle(i);
    const group = svg('g', { class: style.colourClass, 'data-series': series.name, 'data-marker': style.marker });
    const d = series.points.map((p, k) => `${k === 0 ? 'M' : 'L'}${r(px(p.x))} ${r(py(p.y))}`).join('');
    if (series.points.length > 1) group.append(svg('path', { class: 'chart-line', d, ...(style.dash ? { 'stroke-dasharray': style.dash } : {}) }));
    for (const p of series.points)
      group.append(
        svg(
          'path',
          { class: 'chart-marker', d: markerPath(style.marker, px(p.x), py(p.y), 4) },
          svg('title', {}, `${series.name}: ${formatNumber(p.y, 4)} at ${formatNumber(p.x, 4)}`),
        ),
      );
    lines.append(group);
  });
  root.append(grid, axes, labels, titles, lines);
  return root;
}

/** A legend entry: a stretch of the series' line with its marker, and its name. */
function legendItem(name: string, index: number): HTMLLIElement {
  const style = seriesStyle(index);
  const swatch = svg('svg', { class: `chart-swatch ${style.colourClass}`, width: 34, height: 14, viewBox: '0 0 34 14', 'aria-hidden': 'true' });
  swatch.append(
    svg('path', { class: 'chart-line', d: 'M1 7H33', ...(style.dash ? { 'stroke-dasharray': style.dash } : {}) }),
    svg('path', { class: 'chart-marker', d: markerPath(style.marker, 17, 7, 4) }),
  );
  return attrs(el('li', {}, swatch, el('span', { className: 'chart-legend-name' }, name)), { 'data-marker': style.marker });
}

/** The numbers, one row per x, one column per series. */
function numbersTable(chart: Chart): HTMLTableElement {
  const head = el('tr', {}, attrs(el('th', {}, chart.xLabel), { scope: 'col' }), ...chart.series.map((s) => attrs(el('th', {}, s.name), { scope: 'col' })));
  const rows = chartRows(chart).map(({ x, ys }) =>
    el(
      'tr',
      {},
      attrs(el('th', {}, formatNumber(x, 6)), { scope: 'row' }),
      ...ys.map((v) => (v === undefined ? el('td', { className: 'none', title: 'not measured' }, '–') : el('td', {}, formatNumber(v, 4)))),
    ),
  );
  return el(
    'table',
    { className: 'chart-table' },
    el('caption', {}, chart.title, el('span', { className: 'chart-caption-unit' }, ` (${chart.yLabel})`)),
    el('thead', {}, head),
    el('tbody', {}, ...rows),
  );
}

/**
 * The chart, its legend and its numbers, in a section of its own (labelled by the chart's
 * title). `numbersOpen`: the numbers start unfolded (a redrawn chart keeps what the learner had).
 */
export function chartSection(chart: Chart, numbersOpen = false): HTMLElement {
  const id = `chart-title-${++made}`;
  const heading = el('h2', { id, className: 'chart-title' }, chart.title);
  const section = attrs(el('section', { className: 'check-chart', tabIndex: -1 }, heading), { 'aria-labelledby': id });
  if (!hasPoints(chart)) {
    section.append(el('p', { className: 'chart-empty' }, 'The results file has no values to draw yet.'));
    return section;
  }
  const plot = el('div', { className: 'chart-plot' });
  let drawnWidth = 0;
  const draw = (width: number) => {
    drawnWidth = width;
    plot.replaceChildren(drawing(chart, width));
  };
  // Until it is on screen its width is unknown: drawn at a likely one, then at the real one.
  draw(480);
  if (typeof ResizeObserver === 'function') {
    let pending = false;
    const observer = new ResizeObserver(() => {
      if (!plot.isConnected) return observer.disconnect();
      if (pending) return;
      pending = true;
      // Drawn in the next frame, not inside the observer's callback (where a change of size would be a loop).
      requestAnimationFrame(() => {
        pending = false;
        const width = Math.floor(plot.clientWidth);
        if (plot.isConnected && width > 0 && width !== drawnWidth) draw(width);
      });
    });
    observer.observe(plot);
  }
  const legend = attrs(el('ul', { className: 'chart-legend' }, ...chart.series.map((s, i) => legendItem(s.name, i))), { 'aria-label': 'Legend' });
  const numbers = el(
    'details',
    { className: 'chart-numbers', open: numbersOpen },
    el('summary', {}, 'Show the numbers'),
    el('div', { className: 'chart-table-wrap' }, numbersTable(chart)),
  );
  section.append(plot, legend, numbers);
  return section;
}
