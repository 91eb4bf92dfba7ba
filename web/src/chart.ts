/**
 * The arithmetic of the session page's charts (chart-view.ts draws them): whether an axis is
 * logarithmic, its range and ticks, where a value lands, how numbers read, and the words a screen
 * reader hears. Pure functions, no DOM: the unit tests run them in Node.
 */
import type { Chart } from '../../common/api.js';

export type ScaleKind = 'linear' | 'log';

/** An axis: how values map to pixels, the values it spans, and those it labels. */
export interface Axis {
  readonly kind: ScaleKind;
  /** The values at the two ends of the axis, low first. */
  readonly domain: readonly [number, number];
  /** The labelled values, ascending, all within the domain. */
  readonly ticks: readonly number[];
}

/** The y axis is logarithmic when its largest value is more than this many times its smallest. */
export const Y_LOG_RATIO = 50;
/** The x axis likewise, from a smaller spread: 100, 1000 and 5000 services read best evenly spaced. */
export const X_LOG_RATIO = 20;

/** Whether `values` span more than `ratio` times (largest over smallest); never when one is zero or less, which a log scale cannot show. */
export function wantsLog(values: readonly number[], ratio: number): boolean {
  const finite = values.filter(Number.isFinite);
  if (finite.length < 2) return false;
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  return min > 0 && max / min > ratio;
}

/** Rounds away float noise: 0.30000000000000004 → 0.3. */
const clean = (v: number) => Number(v.toPrecision(12));

/**
 * A linear axis over `[min, max]`: ends and ticks on a step of 1, 2, 2.5 or 5 times a power of
 * ten, the finest step that needs at most `maxTicks` ticks (at least 2 are always given).
 */
export function linearAxis(min: number, max: number, maxTicks: number): Axis {
  let lo = min;
  let hi = max;
  if (!(hi > lo)) {
    // One value: a range around it (or up from zero, for a value of zero).
    const pad = lo === 0 ? 1 : Math.abs(lo) / 2;
    lo = lo === 0 ? 0 : lo - pad;
    hi = hi + pad;
  }
  const most = Math.max(2, Math.floor(maxTicks));
  const rough = (hi - lo) / (most - 1);
  let power = 10 ** Math.floor(Math.log10(rough));
  for (;;) {
    for (const m of [1, 2, 2.5, 5]) {
      const step = m * power;
      const first = Math.floor(clean(lo / step));
      const last = Math.ceil(clean(hi / step));
      if (last - first + 1 <= most) {
        const ticks = Array.from({ length: last - first + 1 }, (_, i) => clean((first + i) * step));
        return { kind: 'linear', domain: [ticks[0]!, ticks[ticks.length - 1]!], ticks };
      }
    }
    power *= 10;
  }
}

/** The largest 1, 2 or 5 times a power of ten at most `v` (v > 0). */
export function floor125(v: number): number {
  const power = 10 ** Math.floor(Math.log10(v));
  const m = clean(v / power);
  return clean((m >= 5 ? 5 : m >= 2 ? 2 : 1) * power);
}

/** The smallest 1, 2 or 5 times a power of ten at least `v` (v > 0). */
export function ceil125(v: number): number {
  const power = 10 ** Math.floor(Math.log10(v));
  const m = clean(v / power);
  return clean(m <= 1 ? power : m <= 2 ? 2 * power : m <= 5 ? 5 * power : 10 * power);
}

/**
 * A logarithmic axis over `[min, max]` (both > 0): its ends rounded out to 1, 2 or 5 times a
 * power of ten, and ticks at the densest of 1-2-5, 1-3 and powers of ten (then every second,
 * third … power) that fits in `maxTicks`.
 */
export function logAxis(min: number, max: number, maxTicks: number): Axis {
  const lo = floor125(min);
  const hi = ceil125(Math.max(max, min));
  const most = Math.max(2, Math.floor(maxTicks));
  const firstPower = Math.floor(Math.log10(lo));
  const lastPower = Math.floor(Math.log10(hi));
  const within = (v: number) => v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9);
  const ticksOf = (multiples: readonly number[], every: number) => {
    const ticks: number[] = [];
    for (let p = firstPower; p <= lastPower; p++)
      if ((p - firstPower) % every === 0) for (const m of multiples) if (within(clean(m * 10 ** p))) ticks.push(clean(m * 10 ** p));
    return ticks;
  };
  let ticks = ticksOf([1, 2, 5], 1);
  if (ticks.length > most) ticks = ticksOf([1, 3], 1);
  for (let every = 1; ticks.length > most; every++) ticks = ticksOf([1], every);
  return { kind: 'log', domain: [lo, hi], ticks };
}

export interface AxisOptions {
  /** Log scale above this spread (largest over smallest). */
  readonly logRatio: number;
  /** The most ticks the axis has room to label. */
  readonly maxTicks: number;
  /** A linear axis starts at zero (for amounts; not for the x axis, whose values may start far from it). */
  readonly fromZero?: boolean;
}

/** The axis that shows all of `values`. */
export function axisFor(values: readonly number[], options: AxisOptions): Axis {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return linearAxis(0, 1, options.maxTicks);
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  if (wantsLog(finite, options.logRatio)) return logAxis(min, max, options.maxTicks);
  return linearAxis(options.fromZero && min > 0 ? 0 : min, options.fromZero && max < 0 ? 0 : max, options.maxTicks);
}

/** Where `v` lands between the pixel positions `from` (the domain's low end) and `to`. */
export function project(axis: Axis, v: number, from: number, to: number): number {
  const [lo, hi] = axis.domain;
  const t = axis.kind === 'log' ? (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo)) : (v - lo) / (hi - lo);
  return from + (Number.isFinite(t) ? t : 0.5) * (to - from);
}

/** How many ticks fit along `pixels` when each label needs `labelPixels` (and some room between). */
export function ticksThatFit(pixels: number, labelPixels: number): number {
  return Math.max(2, Math.floor(pixels / Math.max(1, labelPixels)));
}

/** The axis's label, saying so when it is logarithmic: a reader must not take its even steps for equal amounts. */
export function axisTitle(label: string, axis: Axis): string {
  return axis.kind === 'log' ? `${label} (log scale)` : label;
}

const formats = new Map<number, Intl.NumberFormat>();
const intFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/**
 * A measured value as people read it: `digits` significant digits below a thousand (0.42, 12.3,
 * 0.0051), whole numbers with thousands separators above (1,234, 52,000).
 */
export function formatNumber(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 1000) return intFormat.format(v);
  let format = formats.get(digits);
  if (!format) formats.set(digits, (format = new Intl.NumberFormat('en-US', { maximumSignificantDigits: digits })));
  return format.format(v);
}

/**
 * The labeller of an axis's ticks, short enough to sit side by side: when the largest tick is ten
 * thousand or more, every tick from a thousand up in thousands (1k, 5k, 20k) or millions (2M).
 */
export function tickFormatter(ticks: readonly number[]): (v: number) => string {
  const largest = Math.max(0, ...ticks.map(Math.abs));
  if (largest >= 1e7) return (v) => (Math.abs(v) >= 1e6 ? `${formatNumber(v / 1e6)}M` : Math.abs(v) >= 1e3 ? `${formatNumber(v / 1e3)}k` : formatNumber(v));
  if (largest >= 1e4) return (v) => (Math.abs(v) >= 1e3 ? `${formatNumber(v / 1e3)}k` : formatNumber(v));
  return (v) => formatNumber(v);
}

/** One series' look. Colour is never the only difference: the marker's shape and the line's dashes differ too. */
export interface SeriesStyle {
  /** The class that gives the colour (`series-0` … `series-5`, in style.css). */
  readonly colourClass: string;
  readonly marker: MarkerShape;
  /** stroke-dasharray; empty for a solid line. */
  readonly dash: string;
}

export type MarkerShape = 'circle' | 'square' | 'triangle' | 'diamond' | 'triangle-down' | 'cross';
const MARKERS: readonly MarkerShape[] = ['circle', 'square', 'triangle', 'diamond', 'triangle-down', 'cross'];
const DASHES = ['', '7 4', '2 3', '9 3 2 3', '4 4', '1 4'];
const COLOURS = 6;

/** The look of the `index`th series. */
export function seriesStyle(index: number): SeriesStyle {
  return { colourClass: `series-${index % COLOURS}`, marker: MARKERS[index % MARKERS.length]!, dash: DASHES[index % DASHES.length]! };
}

const n = (v: number) => clean(Math.round(v * 100) / 100);

/** The SVG path of a marker of `shape` centred on (x, y), about `r` from centre to edge. */
export function markerPath(shape: MarkerShape, x: number, y: number, r: number): string {
  switch (shape) {
    case 'circle':
      return `M${n(x - r)} ${n(y)}a${n(r)} ${n(r)} 0 1 0 ${n(2 * r)} 0a${n(r)} ${n(r)} 0 1 0 ${n(-2 * r)} 0Z`;
    case 'square': {
      const s = r * 0.9;
      return `M${n(x - s)} ${n(y - s)}H${n(x + s)}V${n(y + s)}H${n(x - s)}Z`;
    }
    case 'triangle':
      return `M${n(x)} ${n(y - r * 1.15)}L${n(x + r * 1.1)} ${n(y + r * 0.8)}H${n(x - r * 1.1)}Z`;
    case 'triangle-down':
      return `M${n(x)} ${n(y + r * 1.15)}L${n(x + r * 1.1)} ${n(y - r * 0.8)}H${n(x - r * 1.1)}Z`;
    case 'diamond':
      return `M${n(x)} ${n(y - r * 1.25)}L${n(x + r * 1.25)} ${n(y)}L${n(x)} ${n(y + r * 1.25)}L${n(x - r * 1.25)} ${n(y)}Z`;
    case 'cross': {
      const a = r * 0.35;
      const b = r * 1.1;
      return `M${n(x - a)} ${n(y - b)}H${n(x + a)}V${n(y - a)}H${n(x + b)}V${n(y + a)}H${n(x + a)}V${n(y + b)}H${n(x - a)}V${n(y + a)}H${n(x - b)}V${n(y - a)}H${n(x - a)}Z`;
    }
  }
}

/** The chart as rows: every x any series has, ascending, and each series' y there (undefined where it has none). */
export function chartRows(chart: Chart): { x: number; ys: (number | undefined)[] }[] {
  const xs = [...new Set(chart.series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  return xs.map((x) => ({ x, ys: chart.series.map((s) => s.points.find((p) => p.x === x)?.y) }));
}

/** Whether there is anything to draw. */
export const hasPoints = (chart: Chart) => chart.series.some((s) => s.points.length > 0);

/**
 * What a screen reader says for the picture: what is plotted against what, on which scales, and
 * each series' values (the first and last only, for a long one: the table has them all).
 */
export function describeChart(chart: Chart, x: Axis, y: Axis): string {
  const lines = chart.series.map((s) => {
    const at = (p: { x: number; y: number }) => `${formatNumber(p.y)} at ${formatNumber(p.x)}`;
    if (s.points.length === 0) return `${s.name}: no values`;
    if (s.points.length <= 4) return `${s.name}: ${s.points.map(at).join(', ')}`;
    return `${s.name}: ${s.points.length} values, from ${at(s.points[0]!)} to ${at(s.points[s.points.length - 1]!)}`;
  });
  const count = chart.series.length === 1 ? 'one line' : `${chart.series.length} lines`;
  return `${chart.title}: chart of ${axisTitle(chart.yLabel, y)} against ${axisTitle(chart.xLabel, x)}, ${count}. ${lines.join('. ')}.`;
}
