/**
 * How repeated measurements become the figures the report shows: the median of the runs, a 95 %
 * interval around it, the hub/legacy ratio with its own interval, a verdict on the ratio, and how
 * many digits a figure may show. These rules are the product's measurement method, so they are
 * written out here by hand, small enough to check line by line, rather than taken from a statistics
 * library whose defaults could change underneath the reports.
 *
 * The interval is Student's t interval of the mean (mean ± t(0.975, n − 1) · s / √n). It assumes
 * the run-to-run noise is roughly normal; timings are skewed, and with the usual 3 runs t is 4.30,
 * so the interval is wide on purpose: it only excludes a value when the runs really disagree with
 * it. The figure shown is the median, which one odd run moves less than the mean, and the interval
 * is widened where needed so it always contains that median.
 */
import type { HeadlineRow } from './model.ts';
import { formatNumber, fractionDigitsFor, MISSING } from './format.ts';

export interface Summary {
  /** How many values the summary is over. */
  n: number;
  median: number;
  /** The 95 % interval; both null when n < 2 (one value has no spread). */
  lo: number | null;
  hi: number | null;
}

/** t(0.975, df) for df = 1..30, the two-sided 95 % quantiles of Student's t distribution. */
const T_975: readonly number[] = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
  2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
  2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** t(0.975, df): from the table up to 30 degrees of freedom, the normal 1.96 beyond (off by under 4 %). */
export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`degrees of freedom must be a positive integer, got ${df}`);
  return df <= T_975.length ? T_975[df - 1] : 1.96;
}

function median(sorted: readonly number[]): number {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The median of the values and the t interval of their mean, widened to contain the median and,
 * when no value is negative, kept at 0 or above; null for no values. A value that is not a finite number is a bug in the caller (a missing measurement
 * is left out, not passed as NaN), so it throws.
 */
export function summarize(values: readonly number[]): Summary | null {
  if (values.length === 0) return null;
  const bad = values.find((v) => !Number.isFinite(v));
  if (bad !== undefined) throw new RangeError(`cannot summarize ${bad}: every value must be a finite number`);
  const n = values.length;
  const med = median([...values].sort((a, b) => a - b));
  if (n < 2) return { n, median: med, lo: null, hi: null };
  const mean = values.reduce((a, v) => a + v, 0) / n;
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1);
  const half = tQuantile975(n - 1) * Math.sqrt(variance / n);
  // A quantity that cannot be negative (every run at 0 or more: latencies, rates, bytes) keeps its interval at 0 or more.
  const floor = Math.min(...values) >= 0 ? 0 : Number.NEGATIVE_INFINITY;
  return { n, median: med, lo: Math.max(floor, Math.min(mean - half, med)), hi: Math.max(mean + half, med) };
}

/**
 * hub / legacy over runs measured in pairs (run i of each layout): the median of the per-run ratios,
 * and the t interval of the mean of their logarithms, exponentiated. Ratios are compared on a log
 * scale because 0.5× and 2× are the same distance from 1; the interval comes from how the runs'
 * ratios actually varied, never from propagating each layout's interval (which assumes the layouts'
 * noise independent, when both ran on the same machine at about the same time). A pair with a side
 * that is 0 or less has no ratio and is left out; null when no pair is left.
 */
export function ratioSummary(pairs: readonly { legacy: number; hub: number }[]): Summary | null {
  const ratios = pairs.filter((p) => p.legacy > 0 && p.hub > 0).map((p) => p.hub / p.legacy);
  const logs = summarize(ratios.map(Math.log));
  if (logs === null) return null;
  const med = median([...ratios].sort((a, b) => a - b));
  if (logs.lo === null || logs.hi === null) return { n: logs.n, median: med, lo: null, hi: null };
  return { n: logs.n, median: med, lo: Math.min(Math.exp(logs.lo), med), hi: Math.max(Math.exp(logs.hi), med) };
}

/** 58.3 → "58", 0.434 → "0.43", 2.14 → "2.1": two significant digits, enough for a relative change. */
function twoDigits(v: number): string {
  return formatNumber(Number(v.toPrecision(2)));
}

/**
 * A ratio read as a change: 0.42 → "lower by 58 %", 1.25 → "higher by 25 %", 2.1 → "higher by 2.1×"
 * (from 2 up a factor reads better than a percentage), 1 → "same".
 */
export function relativeChange(ratio: number): string {
  if (ratio === 1) return 'same';
  if (ratio < 1) return `lower by ${twoDigits((1 - ratio) * 100)} %`;
  return ratio < 2 ? `higher by ${twoDigits((ratio - 1) * 100)} %` : `higher by ${twoDigits(ratio)}×`;
}

/** The verdict on a comparison measured in one run: no interval, so it cannot say whether a difference is noise. */
export const ONE_RUN_VERDICT = 'one run: no interval';

/**
 * The verdict on a ratio (hub / legacy) with its interval: "no clear difference" when the interval
 * contains 1; otherwise the change of the median, and whether that is the metric's good direction
 * ("lower by 58 % (better)"). One run has no interval, so no verdict: "one run: no interval".
 */
export function verdict(summary: Summary | null, better: 'lower' | 'higher'): string {
  if (summary === null) return MISSING;
  if (summary.lo === null || summary.hi === null) return ONE_RUN_VERDICT;
  if (summary.lo <= 1 && summary.hi >= 1) return 'no clear difference';
  const good = (summary.median < 1) === (better === 'lower');
  return `${relativeChange(summary.median)} (${good ? 'better' : 'worse'})`;
}

const fixedFormats = new Map<number, Intl.NumberFormat>();
function fixed(decimals: number): Intl.NumberFormat {
  let f = fixedFormats.get(decimals);
  if (!f) {
    f = new Intl.NumberFormat('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals, useGrouping: true });
    fixedFormats.set(decimals, f);
  }
  return f;
}

/**
 * The rounding the noise allows, as a power of ten: the place of the second significant digit of
 * the interval's half-width (half-width 13.25 → 1s, 0.14 → 0.01s, 1,234 → 100s). Null when there
 * is no interval or it has no width (all runs measured the same).
 */
function noisePlace(lo: number | null, hi: number | null): number | null {
  if (lo === null || hi === null || !Number.isFinite(lo) || !Number.isFinite(hi)) return null;
  const half = Math.abs(hi - lo) / 2;
  // A width of rounding error only (a ratio's bounds back from the log scale) is no width.
  if (half <= 1e-9 * Math.max(Math.abs(lo), Math.abs(hi))) return null;
  // The exponent from the decimal notation, not Math.log10, which can land just below a power of ten.
  return Number(half.toExponential().split('e')[1]) - 1;
}

function roundAt(value: number, place: number, decimals: number): string {
  const rounded = place > 0 ? Math.round(value / 10 ** place) * 10 ** place : value;
  const s = fixed(decimals).format(rounded);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

/**
 * A figure with no more digits than its interval justifies: rounded to the place of the second
 * significant digit of the interval's half-width (142.37 in 129.1–155.6, half-width 13.25 → "142";
 * 1.2345 in 1.10–1.38, half-width 0.14 → "1.23"; 12,345 with half-width 1,234 → "12,300"), and
 * never more decimals than formatNumber would show. Without an interval (or one of no width), as
 * formatNumber shows it.
 */
export function roundToNoise(value: number, lo: number | null, hi: number | null): string {
  const place = noisePlace(lo, hi);
  if (place === null || !Number.isFinite(value)) return formatNumber(value);
  return roundAt(value, place, Math.min(Math.max(0, -place), fractionDigitsFor(value)));
}

/**
 * A median and its interval, all three rounded alike by roundToNoise's rule: "142 (129–156)"; the
 * unit, if any, after the median only ("0.42× (0.38–0.47)"). Without an interval the value alone.
 */
export function formatMedianInterval(value: number, lo: number | null, hi: number | null, unit = ''): string {
  const place = noisePlace(lo, hi);
  if (place === null || lo === null || hi === null || !Number.isFinite(value)) return `${roundToNoise(value, lo, hi)}${unit}`;
  const decimals = Math.min(Math.max(0, -place), fractionDigitsFor(value));
  return `${roundAt(value, place, decimals)}${unit} (${roundAt(lo, place, decimals)}–${roundAt(hi, place, decimals)})`;
}

/**
 * A headline row's figures from repeated runs, run i of legacy paired with run i of hub (null: that
 * run measured nothing for the metric): each layout's median and interval, and the median of the
 * per-run ratios (as headlineRatio, none for a run whose legacy is 0) with ratioSummary's interval,
 * which exists only when every ratio is above 0 (a ratio of 0, nothing lost against something lost,
 * has no place on the log scale). With one run (or none) the plain values, without runs or intervals.
 */
export function repeatedFigures(legacy: readonly (number | null)[], hub: readonly (number | null)[]): Pick<HeadlineRow, 'legacy' | 'hub' | 'ratio' | 'runs' | 'intervals'> {
  const present = (xs: readonly (number | null)[]): number[] => xs.filter((x): x is number => x !== null);
  const pairs = legacy.flatMap((l, i) => {
    const h = hub[i];
    return l !== null && l !== 0 && h !== undefined && h !== null ? [{ legacy: l, hub: h }] : [];
  });
  const ratios = pairs.map((p) => p.hub / p.legacy).sort((a, b) => a - b);
  const l = summarize(present(legacy));
  const h = summarize(present(hub));
  const r = pairs.every((p) => p.legacy > 0 && p.hub > 0) ? ratioSummary(pairs) : null;
  const runs = Math.max(legacy.length, hub.length);
  const figures = { legacy: l?.median ?? null, hub: h?.median ?? null, ratio: ratios.length === 0 ? null : median(ratios) };
  if (runs < 2) return figures;
  const interval = (s: Summary | null): [number, number] | null => (s !== null && s.lo !== null && s.hi !== null ? [s.lo, s.hi] : null);
  return { ...figures, runs, intervals: { legacy: interval(l), hub: interval(h), ratio: interval(r) } };
}
