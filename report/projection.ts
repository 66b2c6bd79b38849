/**
 * Growth to large landscapes: a model, derived from what the connections runner measured, never a
 * measurement. For each layout and measure a least-squares straight line through the measured points
 * (a + b·n) is projected to the size the scenario chose (`projectTo`), and for legacy a worst case
 * counted the same way as the measurement bounds a band above it. Pure functions of the Report, so
 * every report, old ones included, gets the same section (document-projection.ts) and charts
 * (charts-projection.ts).
 */
import type { ConnectionsPoint, Layout, Report } from './model.ts';

/** How far the model goes when the scenario does not say (`runners.connections.projectTo`). */
export const DEFAULT_PROJECT_TO = 200;
/** Sizes the projection table shows besides the largest measured n and projectTo, when within them. */
const TABLE_SIZES = [50, 100];
const LAYOUTS: readonly Layout[] = ['legacy', 'hub'];

export interface LinearFit {
  /** a in a + b·n. */
  intercept: number;
  /** b in a + b·n: what each further system adds. */
  slope: number;
  /** 1 − SSres/SStot; null when every measured value is the same and the line misses one (no variance to explain). */
  r2: number | null;
  /** √(SSres / points): the typical distance of a measured point from the line. */
  rmsResidual: number;
  points: number;
}

/** Least squares of y = a + b·x; null with fewer than two distinct x (no line through them). */
export function linearFit(xy: readonly { x: number; y: number }[]): LinearFit | null {
  const k = xy.length;
  if (new Set(xy.map((p) => p.x)).size < 2) return null;
  const mx = xy.reduce((s, p) => s + p.x, 0) / k;
  const my = xy.reduce((s, p) => s + p.y, 0) / k;
  const sxx = xy.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const sxy = xy.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const ssRes = xy.reduce((s, p) => s + (p.y - (intercept + slope * p.x)) ** 2, 0);
  const ssTot = xy.reduce((s, p) => s + (p.y - my) ** 2, 0);
  // Tiny float residue of an exact line counts as exact.
  const exact = ssRes <= 1e-12 * Math.max(1, ssTot);
  return { intercept, slope, r2: ssTot === 0 ? (exact ? 1 : null) : exact ? 1 : 1 - ssRes / ssTot, rmsResidual: exact ? 0 : Math.sqrt(ssRes / k), points: k };
}

export const fitAt = (f: LinearFit, n: number): number => f.intercept + f.slope * n;

export type ProjectionMetricId = 'declaredLinks' | 'adaptersTotal' | 'liveTcpTotal' | 'formatsPerSystem';

/** An upper bound counted the way the measurement counts, as a formula in n. */
export interface WorstCase {
  formula: string;
  at: (n: number) => number;
  /** What it assumes, in words. */
  means: string;
}

export interface LayoutProjection {
  layout: Layout;
  measured: { n: number; value: number }[];
  fit: LinearFit | null;
  worst: WorstCase | null;
}

export interface MetricProjection {
  id: ProjectionMetricId;
  label: string;
  /** Counts are shown as whole numbers; a mean per system with decimals. */
  integer: boolean;
  layouts: LayoutProjection[];
  /** The worst case of this measure, or why there is none, in words (after "worst case: "). */
  worstNote: string;
}

export interface Projection {
  projectTo: number;
  /** Why projectTo is not the report's own setting (absent, or unusable), or null. */
  projectToNote: string | null;
  nFrom: number;
  nTo: number;
  metrics: MetricProjection[];
  /** The n the table shows projected values at. */
  sizes: number[];
  /** Lake export links per system at the largest legacy n measured, from the topology. */
  lakeLinksPerSystem: number | null;
  /** Legacy links per connected pair of systems at the largest n (a pair joined both ways or by several kinds has several). */
  linksPerPair: number | null;
  /** Whether every measured hub point has exactly n + 1 declared links; null without hub points. */
  hubIsNPlusOne: boolean | null;
}

/** Mean over a point's systems of the distinct formats each speaks (from its adapters, `transport/format`). */
export function formatsPerSystem(p: ConnectionsPoint): number {
  if (p.adapters.length === 0) return 0;
  const formats = p.adapters.map((a) => new Set(a.speaks.map((s) => s.slice(s.lastIndexOf('/') + 1))).size);
  return formats.reduce((s, x) => s + x, 0) / p.adapters.length;
}

const VALUE: Record<ProjectionMetricId, (p: ConnectionsPoint) => number> = {
  declaredLinks: (p) => p.declaredLinks,
  adaptersTotal: (p) => p.adaptersTotal,
  liveTcpTotal: (p) => p.liveTcpTotal,
  formatsPerSystem,
};

/** projectTo from the report's settings: absent in reports made before it (then the default), at least the largest n measured. */
export function projectToOf(r: Report, nTo: number): { value: number; note: string | null } {
  const runners = r.scenario.settings.runners as { connections?: { projectTo?: unknown } } | undefined;
  const written = runners?.connections?.projectTo;
  const fallback = Math.max(DEFAULT_PROJECT_TO, nTo);
  if (written === undefined) {
    return { value: fallback, note: `the report's settings have no projectTo (reports made before it), so the model goes to n = ${fallback}` };
  }
  if (typeof written !== 'number' || !Number.isInteger(written) || written < nTo) {
    return { value: fallback, note: `projectTo ${JSON.stringify(written)} in the report's settings is not a whole number of at least the largest n measured (${nTo}), so the model goes to n = ${fallback}` };
  }
  return { value: written, note: null };
}

const times = (k: number, what: string): string => (k === 1 ? what : `${Number(k.toFixed(3))}·${what}`);

function linksWorst(r: Report, largest: ConnectionsPoint | undefined): { legacy: WorstCase | null; hub: WorstCase; lakePerSystem: number | null; perPair: number | null } {
  const hub: WorstCase = { formula: 'n + 1', at: (n) => n + 1, means: 'every system linked to the hub once, plus the lake sink' };
  if (!largest) return { legacy: null, hub, lakePerSystem: null, perPair: null };
  const inPoint = new Set(largest.systems);
  const links = r.topology.legacyLinks.filter((l) => inPoint.has(l.from) && (l.to === 'lake' || inPoint.has(l.to)));
  const lake = links.filter((l) => l.to === 'lake').length;
  const flows = links.filter((l) => l.to !== 'lake');
  const pairs = new Set(flows.map((l) => [l.from, l.to].sort().join('\u0000'))).size;
  const perSystem = lake / largest.n;
  const legacy: WorstCase = {
    formula: perSystem === 0 ? 'n(n−1)/2' : `n(n−1)/2 + ${times(perSystem, 'n')}`,
    at: (n) => (n * (n - 1)) / 2 + perSystem * n,
    means: `a full mesh, one link between every pair of systems, plus ${perSystem === 1 ? 'each system\'s own lake export' : `${Number(perSystem.toFixed(3))} lake export links per system`} (as measured at n = ${largest.n})`,
  };
  return { legacy, hub, lakePerSystem: perSystem, perPair: pairs === 0 ? null : flows.length / pairs };
}

/** Distinct values over the points' lists at the largest n of a layout. */
const distinctAt = (p: ConnectionsPoint | undefined, of: (p: ConnectionsPoint) => string[]): number => (p ? new Set(of(p)).size : 0);

function metric(id: ProjectionMetricId, label: string, integer: boolean, points: ReadonlyMap<Layout, ConnectionsPoint[]>,
  worst: Partial<Record<Layout, WorstCase | null>>, worstNote: string): MetricProjection {
  return {
    id, label, integer, worstNote,
    layouts: LAYOUTS.filter((l) => (points.get(l) ?? []).length > 0).map((layout) => {
      const measured = points.get(layout)!.map((p) => ({ n: p.n, value: VALUE[id](p) }));
      return { layout, measured, fit: linearFit(measured.map((m) => ({ x: m.n, y: m.value }))), worst: worst[layout] ?? null };
    }),
  };
}

/** The projection of a report's connections points; null when the connections runner did not run or measured nothing. */
export function projectionOf(r: Report): Projection | null {
  const c = r.runners.connections;
  if (!c || c.points.length === 0) return null;
  const points = new Map<Layout, ConnectionsPoint[]>(LAYOUTS.map((l) => [l, c.points.filter((p) => p.layout === l).sort((a, b) => a.n - b.n)]));
  const ns = c.points.map((p) => p.n);
  const nFrom = Math.min(...ns);
  const nTo = Math.max(...ns);
  const { value: projectTo, note } = projectToOf(r, nTo);
  const largest = (l: Layout): ConnectionsPoint | undefined => points.get(l)?.at(-1);
  const links = linksWorst(r, largest('legacy'));
  const combos = (l: Layout): number => distinctAt(largest(l), (p) => p.adapters.flatMap((a) => a.speaks));
  const formats = (l: Layout): number => distinctAt(largest(l), (p) => p.formats);
  const perSystem = (l: Layout, k: number): WorstCase | null => (k === 0 ? null : { formula: times(k, 'n'), at: (n) => k * n,
    means: `every system speaking ${k === 1 ? 'the one transport/format combination' : `all ${k} transport/format combinations`} the measured ${l} landscape uses` });
  const allFormats = (l: Layout, k: number): WorstCase | null => (k === 0 ? null : { formula: String(k), at: () => k,
    means: `every system speaking ${k === 1 ? 'the one format' : `all ${k} formats`} the measured ${l} landscape uses` });
  const hubPoints = points.get('hub') ?? [];
  const metrics = [
    metric('declaredLinks', 'declared links', true, points, { legacy: links.legacy, hub: links.hub },
      'counted as the measurement counts (lake links included): legacy a full mesh, hub n + 1.'),
    metric('adaptersTotal', 'adapters (all systems)', true, points, { legacy: perSystem('legacy', combos('legacy')), hub: perSystem('hub', combos('hub')) },
      'every system needs every transport/format combination already in use (a larger landscape may bring more).'),
    metric('liveTcpTotal', 'live TCP connections', true, points, {},
      'none: how many connections a link holds depends on each client\'s pooling, and no full mesh was measured, so only the fitted line is shown.'),
    metric('formatsPerSystem', 'formats per system (mean)', false, points, { legacy: allFormats('legacy', formats('legacy')), hub: allFormats('hub', formats('hub')) },
      'every system speaks every format in use (formats per system: the mean over the systems of the distinct data formats each reads or writes).'),
  ];
  const sizes = [...new Set([nTo, ...TABLE_SIZES, projectTo])].filter((s) => s >= nTo && s <= projectTo).sort((a, b) => a - b);
  return {
    projectTo, projectToNote: note, nFrom, nTo, metrics, sizes,
    lakeLinksPerSystem: links.lakePerSystem, linksPerPair: links.perPair,
    hubIsNPlusOne: hubPoints.length === 0 ? null : hubPoints.every((p) => p.declaredLinks === p.n + 1),
  };
}

export interface ProjectedValues {
  /** The fitted line at n, kept at 0 or more and at most the worst case (null without a fit). */
  fit: number | null;
  worst: number | null;
  /** The fitted line went past the worst case and was held at it. */
  capped: boolean;
}

/** A layout's projected values at n. */
export function projectedAt(lp: LayoutProjection, n: number): ProjectedValues {
  const worst = lp.worst ? lp.worst.at(n) : null;
  if (!lp.fit) return { fit: null, worst, capped: false };
  const raw = Math.max(0, fitAt(lp.fit, n));
  const capped = worst !== null && raw > worst;
  return { fit: capped ? worst : raw, worst, capped };
}
