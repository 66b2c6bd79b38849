import { describe, expect, it } from 'vitest';
import {
  formatMedianInterval, ONE_RUN_VERDICT, ratioSummary, relativeChange, repeatedFigures, roundToNoise, summarize, tQuantile975, verdict,
} from '../../report/stats.ts';

describe('tQuantile975', () => {
  it('gives the two-sided 95 % quantiles of Student\'s t, and 1.96 beyond 30 degrees of freedom', () => {
    expect(tQuantile975(1)).toBe(12.706);
    expect(tQuantile975(2)).toBe(4.303);
    expect(tQuantile975(4)).toBe(2.776);
    expect(tQuantile975(9)).toBe(2.262);
    expect(tQuantile975(30)).toBe(2.042);
    expect(tQuantile975(31)).toBe(1.96);
    expect(tQuantile975(1000)).toBe(1.96);
    expect(() => tQuantile975(0)).toThrow(RangeError);
    expect(() => tQuantile975(2.5)).toThrow(RangeError);
  });
});

describe('summarize', () => {
  it('is null for no values, and the value without an interval for one', () => {
    expect(summarize([])).toBeNull();
    expect(summarize([7])).toEqual({ n: 1, median: 7, lo: null, hi: null });
  });

  it('gives the median and the t interval of the mean: mean ± t(0.975, n-1) · s / √n', () => {
    // mean 12, s = 2, n = 3: half-width 4.303 · 2 / √3.
    const s = summarize([10, 14, 12])!;
    const half = (4.303 * 2) / Math.sqrt(3);
    expect(s.n).toBe(3);
    expect(s.median).toBe(12);
    expect(s.lo).toBeCloseTo(12 - half, 10);
    expect(s.hi).toBeCloseTo(12 + half, 10);
    // Two values: the median is their middle, df = 1.
    const two = summarize([-1, 1])!;
    expect(two.median).toBe(0);
    // s = √2, so the half-width is 12.706 · √2 / √2.
    expect(two.hi! - two.lo!).toBeCloseTo(2 * 12.706, 10);
  });

  it('widens the interval to contain the median when the runs split into two camps', () => {
    // 20 runs of 0 and 21 of 100: mean 51.2, half-width 1.96 · 50.6 / √41 = 15.5, so mean + half-width is 66.7, below the median 100.
    const s = summarize([...Array<number>(20).fill(0), ...Array<number>(21).fill(100)])!;
    const mean = 2100 / 41;
    const sd = Math.sqrt((20 * mean ** 2 + 21 * (100 - mean) ** 2) / 40);
    expect(s.median).toBe(100);
    expect(s.lo).toBeCloseTo(mean - (1.96 * sd) / Math.sqrt(41), 10);
    expect(mean + (1.96 * sd) / Math.sqrt(41)).toBeLessThan(100);
    expect(s.hi).toBe(100);
  });

  it('has a zero-width interval when every run measured the same', () => {
    expect(summarize([5, 5, 5])).toEqual({ n: 3, median: 5, lo: 5, hi: 5 });
  });

  it('refuses values that are not finite numbers', () => {
    expect(() => summarize([1, Number.NaN])).toThrow(/finite/);
    expect(() => summarize([Number.POSITIVE_INFINITY])).toThrow(/finite/);
  });
});

describe('ratioSummary', () => {
  it('takes the median of the per-run ratios and the t interval of their logs, exponentiated', () => {
    // Ratios 0.5, 0.4, 0.45.
    const s = ratioSummary([{ legacy: 100, hub: 50 }, { legacy: 100, hub: 40 }, { legacy: 200, hub: 90 }])!;
    const logs = [0.5, 0.4, 0.45].map(Math.log);
    const mean = logs.reduce((a, v) => a + v, 0) / 3;
    const sd = Math.sqrt(logs.reduce((a, v) => a + (v - mean) ** 2, 0) / 2);
    expect(s.median).toBeCloseTo(0.45, 12);
    expect(s.lo).toBeCloseTo(Math.exp(mean - (4.303 * sd) / Math.sqrt(3)), 10);
    expect(s.hi).toBeCloseTo(Math.exp(mean + (4.303 * sd) / Math.sqrt(3)), 10);
    expect(s.hi!).toBeLessThan(1);
  });

  it('uses the runs\' own ratios, not each layout\'s spread: paired runs that move together give a tight ratio', () => {
    // Each layout varies by a factor 2 between runs, but hub is always exactly half of legacy.
    const s = ratioSummary([{ legacy: 100, hub: 50 }, { legacy: 200, hub: 100 }, { legacy: 150, hub: 75 }])!;
    expect(s).toEqual({ n: 3, median: 0.5, lo: 0.5, hi: 0.5 });
  });

  it('leaves out pairs with a side of 0 or less, null when none is left', () => {
    expect(ratioSummary([{ legacy: 0, hub: 5 }, { legacy: 4, hub: 0 }, { legacy: -1, hub: 2 }])).toBeNull();
    expect(ratioSummary([{ legacy: 0, hub: 5 }, { legacy: 4, hub: 2 }])).toEqual({ n: 1, median: 0.5, lo: null, hi: null });
    expect(ratioSummary([])).toBeNull();
  });
});

describe('verdict', () => {
  it('says no clear difference when the ratio\'s interval contains 1', () => {
    const s = ratioSummary([{ legacy: 100, hub: 80 }, { legacy: 100, hub: 125 }, { legacy: 100, hub: 95 }])!;
    expect(s.lo!).toBeLessThan(1);
    expect(s.hi!).toBeGreaterThan(1);
    expect(verdict(s, 'lower')).toBe('no clear difference');
    expect(verdict({ n: 3, median: 1.2, lo: 1, hi: 1.4 }, 'higher')).toBe('no clear difference');
  });

  it('gives the change of the median, and whether that is the metric\'s good direction, when the interval excludes 1', () => {
    expect(verdict({ n: 3, median: 0.42, lo: 0.38, hi: 0.47 }, 'lower')).toBe('lower by 58 % (better)');
    expect(verdict({ n: 3, median: 0.42, lo: 0.38, hi: 0.47 }, 'higher')).toBe('lower by 58 % (worse)');
    expect(verdict({ n: 3, median: 2.14, lo: 1.9, hi: 2.4 }, 'higher')).toBe('higher by 2.1× (better)');
    expect(verdict({ n: 3, median: 1.25, lo: 1.1, hi: 1.4 }, 'lower')).toBe('higher by 25 % (worse)');
  });

  it('has no verdict for one run, and none for no ratio', () => {
    expect(verdict({ n: 1, median: 0.4, lo: null, hi: null }, 'lower')).toBe(ONE_RUN_VERDICT);
    expect(ONE_RUN_VERDICT).toBe('one run: no interval');
    expect(verdict(null, 'lower')).toBe('–');
  });
});

describe('relativeChange', () => {
  it('reads a ratio as a change with two significant digits: percent below 2, a factor from 2', () => {
    expect(relativeChange(1)).toBe('same');
    expect(relativeChange(0)).toBe('lower by 100 %');
    expect(relativeChange(0.9957)).toBe('lower by 0.43 %');
    expect(relativeChange(1.5)).toBe('higher by 50 %');
    expect(relativeChange(2)).toBe('higher by 2×');
    expect(relativeChange(13.37)).toBe('higher by 13×');
    expect(relativeChange(1234)).toBe('higher by 1,200×');
  });
});

describe('roundToNoise', () => {
  it('rounds to the place of the second significant digit of the interval\'s half-width', () => {
    // Half-width 13.25: to whole numbers.
    expect(roundToNoise(142.37, 129.1, 155.6)).toBe('142');
    // Half-width 0.14: to hundredths.
    expect(roundToNoise(1.2345, 1.1, 1.38)).toBe('1.23');
    // Half-width 0.95: to hundredths, trailing zeros kept to show the precision.
    expect(roundToNoise(2.999, 2.1, 4.0)).toBe('3.00');
    expect(roundToNoise(3.0412, 2.1, 4.0)).toBe('3.04');
    // Half-width 1,234: to hundreds.
    expect(roundToNoise(12_345, 11_111, 13_579)).toBe('12,300');
    // Half-width exactly 10 (a power of ten): to whole numbers.
    expect(roundToNoise(57.6, 50, 70)).toBe('58');
  });

  it('never shows more decimals than formatNumber would', () => {
    // Half-width 0.0005 would allow 4 decimals; formatNumber shows 2 for a value of that size.
    expect(roundToNoise(1.23456, 1.2341, 1.2351)).toBe('1.23');
    // An integer median of counts shows no decimals.
    expect(roundToNoise(142, 141.2, 142.8)).toBe('142');
  });

  it('shows the value as formatNumber does without an interval, or with one of no width', () => {
    expect(roundToNoise(142.37, null, null)).toBe('142.4');
    expect(roundToNoise(5, 5, 5)).toBe('5');
    expect(roundToNoise(0.012345, null, null)).toBe('0.012');
  });
});

describe('formatMedianInterval', () => {
  it('rounds the median and both bounds alike, the unit after the median', () => {
    expect(formatMedianInterval(142.37, 129.1, 155.6)).toBe('142 (129–156)');
    // Half-width 0.0429: to thousandths.
    expect(formatMedianInterval(0.4213, 0.3844, 0.4702, '×')).toBe('0.421× (0.384–0.470)');
    expect(formatMedianInterval(0.4213, 0.3144, 0.5702, '×')).toBe('0.42× (0.31–0.57)');
    expect(formatMedianInterval(12_345, 11_111, 13_579)).toBe('12,300 (11,100–13,600)');
    expect(formatMedianInterval(0.4213, null, null, '×')).toBe('0.421×');
    // Every run the same: no interval to show, also when the bounds came back from the log scale a rounding error apart.
    expect(formatMedianInterval(5, 5, 5)).toBe('5');
    expect(formatMedianInterval(0.244, Math.exp(Math.log(0.244)), 0.244 * (1 + 1e-15), '×')).toBe('0.244×');
  });
});

describe('repeatedFigures', () => {
  it('gives medians, intervals and the median per-run ratio over the runs, paired by run', () => {
    const f = repeatedFigures([100, 200, 150], [50, 100, 75]);
    expect(f).toMatchObject({ legacy: 150, hub: 75, ratio: 0.5, runs: 3 });
    expect(f.intervals!.ratio).toEqual([0.5, 0.5]);
    expect(f.intervals!.legacy![0]).toBeLessThan(150);
    expect(f.intervals!.hub![1]).toBeGreaterThan(75);
  });

  it('gives a ratio of 0 without an interval when the hub measured 0 in every run', () => {
    expect(repeatedFigures([187, 150, 200], [0, 0, 0])).toMatchObject({ legacy: 187, hub: 0, ratio: 0, runs: 3, intervals: { ratio: null, hub: [0, 0] } });
  });

  it('leaves out a run that measured nothing, and has no runs or intervals with one run', () => {
    expect(repeatedFigures([10, null, 14], [5, 6, 7])).toMatchObject({ legacy: 12, hub: 6, ratio: 0.5, runs: 3 });
    expect(repeatedFigures([10], [4])).toEqual({ legacy: 10, hub: 4, ratio: 0.4 });
    expect(repeatedFigures([0], [4])).toEqual({ legacy: 0, hub: 4, ratio: null });
    expect(repeatedFigures([], [])).toEqual({ legacy: null, hub: null, ratio: null });
  });
});

describe('summarize on a quantity that cannot be negative', () => {
  it('keeps the interval at 0 or above when every run is', () => {
    const s = summarize([752, 2524, 2632])!;
    expect(s.lo).toBe(0);
    expect(s.hi!).toBeGreaterThan(2632);
    expect(summarize([-5, 1, 2])!.lo!).toBeLessThan(-5);
  });
});
