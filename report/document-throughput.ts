/**
 * The throughput and cost section of the report document: how each rate was judged, the sustained
 * rate per layout over the repeated runs, each point of the first run's search, then (in
 * document-throughput-cost.ts) the cost at the common rate, the idle cost, the scale-out and the
 * tuning knobs. A figure taken over runs is their median with its 95 % interval (stats.ts); a
 * single run's points are shown as measured, since a point of one run has no spread to show.
 */
import { left, list, paragraph, right, table, type Block, type Section } from './document-model.ts';
import { costBlocks, idleBlocks, medianCell, scaleOutBlocks, tuningBlocks } from './document-throughput-cost.ts';
import { formatNumber, formatPercent, MISSING } from './format.ts';
import type { RatePoint, RateSearch, ThroughputLayoutResult, ThroughputResult } from './model-throughput.ts';

const LAYOUT_ORDER = ['legacy', 'hub'] as const;

/** The layouts of a result, legacy first, whichever order they ran in. */
export function layoutsInOrder(t: ThroughputResult): ThroughputLayoutResult[] {
  return LAYOUT_ORDER.flatMap((layout) => t.layouts.filter((l) => l.layout === layout));
}

const ms = (v: number | null | undefined): string => (v === null || v === undefined ? MISSING : `${formatNumber(v)} ms`);
const slash = (...vs: (number | null | undefined)[]): string =>
  (vs.every((v) => v === null || v === undefined) ? MISSING : `${vs.map((v) => formatNumber(v)).join(' / ')} ms`);

function methodText(t: ThroughputResult): string {
  const m = t.method;
  return `Each layout ran ${m.repeats} time${m.repeats === 1 ? '' : 's'}. The load was open loop: the load generator sent each order at its slot `
    + 'in a fixed schedule at the target rate, whether or not earlier orders had been answered, and every latency counts from that intended '
    + 'send time, so a stall shows as the wait it caused the orders due meanwhile instead of as fewer orders sent. '
    + `A rate counts as sustained only when the ingress p99 stayed within ${formatNumber(m.ingressP99BoundMs)} ms and the backlog growth `
    + `(the median time to the systems of the window's last quarter minus that of its first) within ${formatNumber(m.backlogGrowthBoundMs)} ms; `
    + 'a point that was not sustained lists every criterion it failed. '
    + `Each point lasted long enough for at least ${formatNumber(m.minOrdersPerPoint)} orders, and the search stopped once the highest sustained `
    + `and the lowest failed rate were less than ${formatPercent(m.precision)} apart. `
    + `Cost was measured at one common rate, ${formatNumber(m.costRatePerS)} orders/s, in every layout, and the idle cost over ${formatNumber(m.idleS)} s `
    + 'with no load. A figure over the runs is their median with, in brackets, a 95 % interval.';
}

/** "175 (not 188)": a run's sustained rate and the lowest rate it did not sustain. */
function runLimit(s: RateSearch): string {
  const sustained = s.sustainedPerS === null ? 'none' : formatNumber(s.sustainedPerS);
  return s.failedPerS === null ? `${sustained} (none failed)` : `${sustained} (not ${formatNumber(s.failedPerS)})`;
}

/** "C (3 of 3 runs)"; "G (2 of 3 runs), broker (1 of 3)". */
function bottleneckText(names: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).map(([n, c], i) => `${n} (${c} of ${names.length}${i === 0 ? ` run${names.length === 1 ? '' : 's'}` : ''})`).join(', ');
}

function sustainedTable(layouts: readonly ThroughputLayoutResult[]): Block {
  return table({
    id: 'throughput-sustained', caption: 'Sustained rate per layout (orders/s): the median of the runs with its 95 % interval',
    columns: [left('layout'), right('sustained orders/s'), left('each run: sustained (lowest not sustained)'), left('bottleneck')],
    rows: layouts.map((l) => [
      l.layout,
      medianCell(l.runs.flatMap((r) => (r.search.sustainedPerS === null ? [] : [r.search.sustainedPerS]))),
      l.runs.map((r) => `run ${r.run}: ${runLimit(r.search)}`).join('; '),
      bottleneckText(l.runs.map((r) => r.search.bottleneck)),
    ]),
  });
}

function sustainedCell(p: RatePoint): string {
  return p.sustained ? 'yes' : `no: ${p.why.length === 0 ? 'no reason recorded' : p.why.join('; ')}`;
}

/**
 * The first run's points, lowest rate first, as two tables of few columns each (load and ingress;
 * time to the systems and the lake), so neither needs to scroll sideways on a laptop screen.
 */
function pointTables(l: ThroughputLayoutResult): Block[] {
  const run = l.runs[0];
  const points = [...run.search.points].sort((a, b) => a.targetPerS - b.targetPerS);
  return [
    table({
      id: `throughput-points-${l.layout}`, caption: `${l.layout}, run ${run.run}: load and ingress at each rate tried`,
      columns: [right('target/s'), right('achieved/s'), right('failed'), right('ingress p50 / p99 / p99.9'), right('backlog growth'), left('sustained')],
      rows: points.map((p) => [formatNumber(p.targetPerS), formatNumber(p.acceptedPerS), formatNumber(p.failed),
        slash(p.ingressLatencyMs.p50, p.ingressLatencyMs.p99, p.ingressLatencyMs.p999), ms(p.backlogGrowthMs), sustainedCell(p)]),
    }),
    table({
      id: `throughput-delays-${l.layout}`, caption: `${l.layout}, run ${run.run}: time to the systems and to the lake at each rate tried`,
      columns: [right('target/s'), right('to systems p50 / p99'), right('to lake p50 / p99'), right('completed'), left('busiest process')],
      rows: points.map((p) => [formatNumber(p.targetPerS), slash(p.toSystemsMs.p50, p.toSystemsMs.p99), slash(p.toLakeMs.p50, p.toLakeMs.p99),
        formatPercent(p.completionRate), p.busiest]),
    }),
  ];
}

export function throughputSection(t: ThroughputResult): Section {
  const layouts = layoutsInOrder(t);
  const blocks: Block[] = [paragraph(methodText(t))];
  if (t.method.tradeOffs.length > 0) blocks.push(paragraph('What the time budget cut:'), list(t.method.tradeOffs));
  blocks.push(
    sustainedTable(layouts),
    paragraph('Latency against the target rate: the ingress p99 and the time to the systems p99 at every point of every run (run 1 drawn as a line, '
      + 'the other runs lighter), with run 1\'s sustained rate marked. The tables give each point of run 1; every run\'s points are in report.json.'),
    { kind: 'figures', group: 'throughput' },
    ...layouts.flatMap(pointTables),
    ...costBlocks(t, layouts),
    ...idleBlocks(t, layouts),
    ...scaleOutBlocks(layouts),
    ...tuningBlocks(t),
  );
  return { id: 'throughput', title: 'Throughput and cost', blocks };
}
