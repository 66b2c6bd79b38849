/**
 * The search for the highest rate a landscape sustains, as a pure function over a `measure(rate)`
 * that runs one open-loop point and says whether it was sustained. Hand-written because it is the
 * measurement method itself.
 *
 * Without a hint it starts at `start` and doubles while points are sustained (halves while they
 * are not), so any landscape's limit is bracketed in a few points whatever its scale; with a hint
 * (an earlier run's result) it starts there and steps by 25 %, so repeated runs spend their points
 * near the edge. Once bracketed it bisects until the gap between the highest sustained and the
 * lowest failed rate is at most `precision` of the sustained one, or the points run out.
 */

export interface SearchOptions<P = unknown> {
  start: number;
  /** An earlier run's sustained rate: start there, step by 25 %. */
  hint?: number | null;
  max: number;
  /** Lowest rate worth trying; below it the landscape sustains nothing useful. */
  min?: number;
  precision: number;
  maxPoints: number;
  signal?: AbortSignal;
  /** A point measured already (the cost point): the search counts it and goes on from it. */
  known?: { rate: number; point: P; sustained: boolean };
}

export interface SearchOutcome<P> {
  points: { rate: number; point: P; sustained: boolean }[];
  /** Highest sustained rate tried; null when none was. */
  sustained: number | null;
  /** Lowest failed rate above it; null when none failed (the search stopped at `max` or ran out). */
  failed: number | null;
  /** Why the search stopped. */
  stoppedBecause: 'precision' | 'max' | 'min' | 'points';
}

/** Rates are rounded to 0.1 orders/s: finer than any precision asked, and readable. */
const roundRate = (r: number): number => Math.round(r * 10) / 10;

export async function searchSustainedRate<P>(measure: (rate: number) => Promise<{ point: P; sustained: boolean }>, o: SearchOptions<P>): Promise<SearchOutcome<P>> {
  const min = o.min ?? 0.5;
  const up = o.hint ? 1.25 : 2;
  const points: SearchOutcome<P>['points'] = [];
  let sustained: number | null = null;
  let failed: number | null = null;
  let stoppedBecause: SearchOutcome<P>['stoppedBecause'] = 'points';
  const record = (rate: number, m: { point: P; sustained: boolean }): void => {
    points.push({ rate, point: m.point, sustained: m.sustained });
    if (m.sustained) sustained = sustained === null ? rate : Math.max(sustained, rate);
    else failed = failed === null ? rate : Math.min(failed, rate);
    // A point above a failed one that is sustained after all (noise at the edge): the failure no longer brackets.
    if (sustained !== null && failed !== null && failed <= sustained) failed = null;
  };
  let rate = roundRate(Math.min(o.max, Math.max(min, o.hint ?? o.start)));
  if (o.known) {
    record(o.known.rate, o.known);
    // Without a hint the search goes on from the known point as if it had measured it first.
    if (!o.hint) rate = o.known.rate;
  }
  let last: number | null = o.known && !o.hint ? o.known.rate : null;
  while (points.length < o.maxPoints || last !== null) {
    if (o.signal?.aborted) throw new Error('run interrupted');
    if (last === null) {
      if (points.some((p) => p.rate === rate)) { stoppedBecause = 'precision'; break; }
      record(rate, await measure(rate));
    }
    const at = last ?? rate;
    last = null;
    const s = sustained as number | null;
    const f = failed as number | null;
    let next: number;
    if (f === null) {
      if (at >= o.max) { stoppedBecause = 'max'; break; }
      next = Math.min(o.max, Math.max(at, s ?? at) * up);
    } else if (s === null) {
      if (at <= min) { stoppedBecause = 'min'; break; }
      next = Math.max(min, Math.min(at, f) / up);
    } else {
      if ((f - s) / s <= o.precision) { stoppedBecause = 'precision'; break; }
      next = (s + f) / 2;
    }
    rate = roundRate(next);
    if (points.length >= o.maxPoints) { stoppedBecause = 'points'; break; }
  }
  return { points, sustained, failed, stoppedBecause };
}
