/**
 * The headline's cells, the same in the terminal table (headline.ts) and in the report document
 * (document-headline.ts): a figure with its 95 % interval when the row was measured over several
 * runs, how many runs a row stands on, and the verdict on each comparison. Kept in one place so the
 * two presentations cannot disagree about what a row says.
 */
import { formatNumber, formatRatio, MISSING } from './format.ts';
import type { HeadlineRow } from './model.ts';
import { formatMedianInterval, ONE_RUN_VERDICT, relativeChange, verdict } from './stats.ts';

type Interval = readonly [number, number] | null | undefined;
type Intervals = HeadlineRow['intervals'];

/** A figure with its interval when it has one, "142 (129–156)", rounded to the noise; else as formatNumber shows it. */
export function figureCell(value: number | null | undefined, interval: Interval): string {
  if (value === null || value === undefined) return MISSING;
  return interval ? formatMedianInterval(value, interval[0], interval[1]) : formatNumber(value);
}

/** A ratio with its interval when it has one, "0.42× (0.38–0.47)"; else as formatRatio shows it. */
export function ratioCell(ratio: number | null | undefined, interval: Interval): string {
  if (ratio === null || ratio === undefined) return MISSING;
  return interval ? formatMedianInterval(ratio, interval[0], interval[1], '×') : formatRatio(ratio);
}

/** What a row stands on: "exact" (counted, no noise), the number of runs, or "1". */
export function runsCell(h: Pick<HeadlineRow, 'exact' | 'runs'>): string {
  if (h.exact) return 'exact';
  return String(h.runs ?? 1);
}

/** "(better)" or "(worse)": whether right against left moved in the metric's good direction. */
function direction(left: number, right: number, better: 'lower' | 'higher'): string {
  return (right < left) === (better === 'lower') ? '(better)' : '(worse)';
}

/** A difference read as a change: the ratio as a change, or only its direction when left is 0 (no ratio); "same" when equal. */
export function changeText(left: number, right: number, ratio: number | null, better: 'lower' | 'higher'): string {
  if (left === right) return 'same';
  const change = ratio !== null ? relativeChange(ratio) : right > left ? 'higher' : 'lower';
  return `${change} ${direction(left, right, better)}`;
}

/**
 * The verdict on right against left (hub against legacy, or hub-cluster against legacy-ha):
 * - exact rows (counted, no noise): the change, or "same";
 * - rows with intervals: stats.ts verdict on the ratio's interval ("no clear difference" when it
 *   contains 1); when there is no ratio interval (a ratio of 0, or none because left is 0), by
 *   whether the two layouts' intervals overlap;
 * - single-run measured rows: no interval, so no verdict ("one run: no interval"), unless the two
 *   values are equal ("same"); figures of several runs given without an interval: "no interval".
 */
export function verdictCell(h: Pick<HeadlineRow, 'exact' | 'runs' | 'better'>, left: number | null | undefined, right: number | null | undefined,
  ratio: number | null, intervals?: Intervals): string {
  if (left === null || left === undefined || right === null || right === undefined) return MISSING;
  if (h.exact) return changeText(left, right, ratio, h.better);
  if (intervals) {
    if (ratio !== null && intervals.ratio) {
      return verdict({ n: h.runs ?? 2, median: ratio, lo: intervals.ratio[0], hi: intervals.ratio[1] }, h.better);
    }
    if (intervals.legacy && intervals.hub) {
      const overlap = intervals.legacy[0] <= intervals.hub[1] && intervals.hub[0] <= intervals.legacy[1];
      return overlap ? 'no clear difference' : changeText(left, right, ratio, h.better);
    }
    return 'no interval';
  }
  if (left === right) return 'same';
  // Several runs but no interval here (the row's intervals are for legacy and hub only): the median alone cannot tell.
  return (h.runs ?? 1) > 1 ? 'no interval' : ONE_RUN_VERDICT;
}

/** The cells of a row's legacy-against-hub comparison: legacy, hub, hub/legacy, runs, verdict. */
export function plainPairCells(h: HeadlineRow): { legacy: string; hub: string; ratio: string; runs: string; verdict: string } {
  const i = h.intervals;
  return {
    legacy: figureCell(h.legacy, i?.legacy),
    hub: figureCell(h.hub, i?.hub),
    ratio: ratioCell(h.ratio, i?.ratio),
    runs: runsCell(h),
    verdict: verdictCell(h, h.legacy, h.hub, h.ratio, i),
  };
}

/**
 * How to read the medians and intervals, for below the headline: which rows come from how many
 * runs, what the interval is, when a difference is "no clear difference", and that single-run rows
 * have none.
 */
export function headlineReading(rows: readonly Pick<HeadlineRow, 'exact' | 'runs' | 'intervals'>[]): string {
  const repeated = [...new Set(rows.filter((r) => !r.exact && r.intervals !== undefined).map((r) => r.runs ?? 2))].sort((a, b) => a - b);
  const single = rows.some((r) => !r.exact && r.intervals === undefined);
  const parts = ['How to read it: rows marked exact are counted from the topology or the wiring, so they carry no noise.'];
  if (repeated.length > 0) {
    parts.push(`A row measured over ${repeated.join(' or ')} runs shows the median of the runs and, in brackets, a 95 % interval `
      + '(Student\'s t interval of the mean of the runs, widened to include the median; with 3 runs it is wide on purpose); '
      + 'figures are rounded to the interval\'s second significant digit. Its hub/legacy is the median of the per-run ratios, '
      + 'with an interval from how those ratios varied. When the ratio\'s interval includes 1 the verdict is "no clear difference": '
      + 'the runs cannot tell the layouts apart.');
  }
  if (single) {
    parts.push('Rows marked 1 were measured in one run: they have no interval, so a difference there may be noise, and their verdict '
      + `says "${ONE_RUN_VERDICT}" unless both layouts measured the same.`);
  }
  return parts.join(' ');
}
