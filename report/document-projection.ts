/**
 * The report section "Growth to large landscapes": the connections runner's measured points
 * extrapolated to the scenario's projectTo (projection.ts computes it), said plainly to be a model.
 * Its charts are in charts-projection.ts (figure group 'projection').
 */
import { left, list, paragraph, right, table, type Block, type Section } from './document-model.ts';
import { formatNumber, MISSING } from './format.ts';
import type { Report } from './model.ts';
import { projectedAt, projectionOf, type LayoutProjection, type LinearFit, type MetricProjection, type Projection } from './projection.ts';

/** "−5.29 + 3.21·n"; "n + 1"; "3". */
export function formulaText(f: LinearFit): string {
  const a = Number(f.intercept.toPrecision(3));
  const b = Number(f.slope.toPrecision(3));
  const slope = b === 0 ? '' : b === 1 ? 'n' : b === -1 ? '−n' : `${formatNumber(b).replace(/^-/, '−')}·n`;
  if (slope === '') return formatNumber(a).replace(/^-/, '−');
  if (a === 0) return slope;
  return `${slope} ${a < 0 ? '−' : '+'} ${formatNumber(Math.abs(a))}`;
}

const r2Text = (f: LinearFit): string => (f.r2 === null ? 'none (no spread)' : f.r2 === 1 ? '1 (exact)' : formatNumber(Number(f.r2.toFixed(3))));

function value(m: MetricProjection, v: number | null): string {
  if (v === null) return MISSING;
  return m.integer ? formatNumber(Math.round(v)) : formatNumber(Number(v.toFixed(2)));
}

function introBlocks(p: Projection): Block[] {
  const hub = p.hubIsNPlusOne === null ? ''
    : p.hubIsNPlusOne ? ' The measured hub links are exactly n + 1 at every measured n (every system once, plus the lake sink), so the hub\'s fitted line and its worst case are the same line.'
      : ' The measured hub links are not n + 1 at every measured n (a system with nothing to produce or receive has no link), so the hub is projected by its fitted line, with n + 1 as its upper bound.';
  const pair = p.linksPerPair !== null && p.linksPerPair > 1
    ? ` The full mesh counts one link per pair of systems; the measured landscape has ${formatNumber(Number(p.linksPerPair.toFixed(2)))} links per connected pair `
      + '(a pair joined in both directions, or by several data kinds, has more than one), so a mesh wired like it could have more.'
    : '';
  return [
    paragraph(`This section is a model, not a measurement. It extrapolates the connections runner's points, measured at n = ${p.nFrom}..${p.nTo} systems, `
      + `to landscapes of up to n = ${p.projectTo} (the connections setting projectTo). Nothing here was run at those sizes.`
      + (p.projectToNote ? ` Note: ${p.projectToNote}.` : '')),
    paragraph('How: for each layout and measure, a straight line a + b·n fitted to the measured points by least squares (linear: it assumes every further '
      + 'system adds as much as the measured ones did on average). R² (1: the line passes through every measured point) and the RMS residual (the typical '
      + 'distance of a measured point from the line) say how well the line fits the measured range, not whether growth stays linear beyond it. '
      + 'A fitted value is kept at 0 or more and at most the worst case.'),
    paragraph('The legacy projection is a band: its lower edge is the fitted line (the landscape keeps growing as it grew so far), its upper edge the worst '
      + 'case counted the way the measurement counts. For declared links that is a full mesh, n(n−1)/2 links between the systems, plus the lake export links '
      + `(${p.lakeLinksPerSystem === null ? 'none measured' : `${formatNumber(Number(p.lakeLinksPerSystem.toFixed(3)))} per system, from the topology at n = ${p.nTo}`}); `
      + `for the hub n + 1.${pair}${hub}`),
  ];
}

function fitsTable(p: Projection): Block {
  const rows = p.metrics.flatMap((m) => m.layouts.map((l) => [
    m.label, l.layout,
    l.fit ? formulaText(l.fit) : 'no fit (fewer than two n measured)',
    l.fit ? r2Text(l.fit) : MISSING,
    l.fit ? formatNumber(Number(l.fit.rmsResidual.toPrecision(2))) : MISSING,
    `${l.measured.map((x) => value(m, x.value)).join(', ')} (n = ${l.measured.map((x) => x.n).join(', ')})`,
    l.worst ? `${l.worst.formula}: ${l.worst.means}` : 'none',
  ]));
  return table({
    id: 'projection-fits', caption: 'Fitted lines (least squares, linear in n) and worst cases: a model',
    columns: [left('measure'), left('layout'), left('fitted line'), right('R²'), right('RMS residual'), left('measured'), left('worst case')],
    rows,
  });
}

function basisRows(m: MetricProjection, l: LayoutProjection, sizes: readonly number[]): string[][] {
  const at = sizes.map((n) => projectedAt(l, n));
  const rows = [[m.label, l.layout, 'fitted line', ...at.map((v) => (v.fit === null ? MISSING : `${value(m, v.fit)}${v.capped ? ' (held at the worst case)' : ''}`))]];
  if (l.worst) rows.push([m.label, l.layout, `worst case, ${l.worst.formula}`, ...at.map((v) => value(m, v.worst))]);
  return rows;
}

function projectedTable(p: Projection): Block {
  return table({
    id: 'projection-values', caption: `Projected values (a model, not measured) at n = ${p.sizes.join(', ')}`,
    columns: [left('measure'), left('layout'), left('basis'), ...p.sizes.map((n) => right(`n = ${n}`))],
    rows: p.metrics.flatMap((m) => m.layouts.flatMap((l) => basisRows(m, l, p.sizes))),
  });
}

/** The section, or null when the report has no connections points to project. */
export function projectionSection(r: Report): Section | null {
  const p = projectionOf(r);
  if (!p) return null;
  return {
    id: 'projection',
    title: 'Growth to large landscapes (a model)',
    blocks: [
      ...introBlocks(p),
      { kind: 'figures', group: 'projection' },
      fitsTable(p),
      projectedTable(p),
      paragraph('The worst case of each measure:'),
      list(p.metrics.map((m) => `${m.label}: ${m.worstNote}`)),
    ],
  };
}
