/**
 * The throughput charts of report.html (and of report.md's figures): latency against the target rate
 * per layout (the ingress p99 and the time to the systems p99 of every point of every run, run 1 as a
 * line, its sustained rate marked), the highest sustained rate per layout (the runs' median and every
 * run), and at the common cost rate: the CPU per order stacked by part, the end-to-end latency (ingress,
 * to the systems, to the lake) and the bytes per order written to disk and to sockets (the runs' medians,
 * every run's value beside them).
 */
import type { TopLevelSpec } from 'vega-lite';
import { LAYOUT_SCALE, renderChart, type Chart } from './chart-render.ts';
import type { FigureGroup } from './document-model.ts';
import { costsOf, PART_KEYS, PART_LABELS } from './document-throughput-cost.ts';
import { layoutsInOrder } from './document-throughput.ts';
import { formatNumber } from './format.ts';
import type { CostPoint, ThroughputLayoutResult, ThroughputResult } from './model-throughput.ts';
import { roundToNoise, summarize } from './stats.ts';

const MEASURES = { ingress: 'ingress p99', toSystems: 'to systems p99' } as const;
const PART_COLORS = ['#6b6b6b', '#9c755f', '#e08a2c', '#4e9a8f', '#b07aa1', '#2f6fb0', '#59a14f'];

async function latencyChart(t: ThroughputResult): Promise<Chart> {
  const layouts = layoutsInOrder(t);
  // Each panel is titled with run 1's limit: a label inside the plot would sit on the curves somewhere.
  const panelOf = (l: ThroughputLayoutResult): string => {
    const limit = l.runs[0].search.sustainedPerS;
    return `${l.layout}: run 1 sustained ${limit === null ? 'no rate tried' : `${formatNumber(limit)} orders/s`}`;
  };
  const points = layouts.flatMap((l) => l.runs.flatMap((r) => r.search.points.flatMap((p) => [
    { measure: MEASURES.ingress as string, ms: p.ingressLatencyMs.p99 }, { measure: MEASURES.toSystems as string, ms: p.toSystemsMs.p99 },
  // A log axis has no place for 0 (or for a percentile not measured).
  ].filter((m): m is { measure: string; ms: number } => m.ms !== null && m.ms > 0).map((m) => ({
    kind: 'point', panel: panelOf(l), run: r.run, rate: p.targetPerS, ...m, state: p.sustained ? 'sustained' : 'not sustained',
  })))));
  // Run 1's limit: the line is run 1, so its limit is the one the line reaches.
  const limits = layouts.flatMap((l) => (l.runs[0].search.sustainedPerS === null ? [] : [{ kind: 'limit', panel: panelOf(l), rate: l.runs[0].search.sustainedPerS }]));
  const x = { field: 'rate', type: 'quantitative', title: 'target orders/s' } as const;
  const y = { field: 'ms', type: 'quantitative', title: 'p99 from the intended send time (ms)', scale: { type: 'log' } } as const;
  const color = { field: 'measure', type: 'nominal', title: null, scale: { domain: Object.values(MEASURES), range: ['#1d2430', '#e08a2c'] } } as const;
  const spec: TopLevelSpec = {
    data: { values: [...points, ...limits] },
    facet: { column: { field: 'panel', type: 'nominal', title: null, sort: layouts.map(panelOf) } },
    spec: {
      width: 290, height: 260,
      layer: [
        { transform: [{ filter: "datum.kind === 'point' && datum.run === 1" }], mark: { type: 'line', strokeWidth: 1.5 }, encoding: { x, y, color } },
        {
          transform: [{ filter: "datum.kind === 'point'" }],
          mark: { type: 'point', size: 45, strokeWidth: 1.5 },
          encoding: {
            x, y, color,
            opacity: { condition: { test: 'datum.run === 1', value: 1 }, value: 0.3 },
            shape: { field: 'state', type: 'nominal', title: null, scale: { domain: ['sustained', 'not sustained'], range: ['circle', 'cross'] } },
          },
        },
        { transform: [{ filter: "datum.kind === 'limit'" }], mark: { type: 'rule', strokeDash: [5, 4], color: '#555' }, encoding: { x } },
      ],
    },
    // The layouts' rates differ several-fold: each its own rate axis, one latency axis to compare on.
    resolve: { scale: { x: 'independent' } },
  };
  return renderChart('chart-throughput-latency', 'Latency against the target rate per layout: the ingress p99 and the time to the systems p99, both from '
    + 'the intended send time, at every point of every run (run 1 as a line and solid marks, the other runs lighter; a cross: not sustained). '
    + 'The dashed line is run 1\'s sustained rate, named above each panel. The latency axis is logarithmic.', spec);
}

async function costChart(t: ThroughputResult): Promise<Chart> {
  const layouts = layoutsInOrder(t);
  const parts = layouts.flatMap((l) => PART_KEYS.flatMap((k) => {
    const s = summarize(costsOf(l).map((c) => c.parts[k]));
    return s === null ? [] : [{ layout: l.layout, part: PART_LABELS[k], order: PART_KEYS.indexOf(k), ms: s.median }];
  }));
  const totals = layouts.flatMap((l) => {
    const s = summarize(costsOf(l).map((c) => c.cpuMsPerOrder));
    return s === null ? [] : [{ layout: l.layout, ms: s.median, label: `${roundToNoise(s.median, s.lo, s.hi)} ms measured` }];
  });
  const y = { field: 'layout', type: 'nominal', title: 'layout', sort: LAYOUT_SCALE.domain } as const;
  const spec: TopLevelSpec = {
    width: 620, height: 120,
    layer: [
      {
        data: { values: parts }, mark: 'bar',
        encoding: {
          y, x: { field: 'ms', type: 'quantitative', title: `CPU ms per order at ${t.method.costRatePerS} orders/s`, stack: 'zero' },
          color: { field: 'part', type: 'nominal', title: null, scale: { domain: PART_KEYS.map((k) => PART_LABELS[k]), range: PART_COLORS }, legend: { columns: 4, labelLimit: 200 } },
          order: { field: 'order', type: 'quantitative' },
        },
      },
      // The measured total beside each bar: the parts are measured apart and need not reach it exactly.
      { data: { values: totals }, mark: { type: 'text', align: 'left', dx: 6, fontSize: 11, color: '#333' }, encoding: { y, x: { field: 'ms', type: 'quantitative' }, text: { field: 'label', type: 'nominal' } } },
    ],
  };
  return renderChart('chart-throughput-cost', `CPU per order at the common rate of ${t.method.costRatePerS} orders/s by part, per layout: the median of the runs for `
    + 'each part, and beside each bar the median of the measured total of all landscape processes.', spec);
}

const layoutColor = { field: 'layout', type: 'nominal', title: 'layout', scale: LAYOUT_SCALE } as const;
/** Every run's value: an open circle over the median's mark. */
const runMark = { type: 'point', shape: 'circle', size: 40, strokeWidth: 1.5, color: '#1d2430', opacity: 0.75 } as const;

/** The runs' medians and every run's value of some measures of each layout, as chart rows. */
function medianAndRuns(layouts: readonly ThroughputLayoutResult[], measures: readonly (readonly [string, (r: ThroughputLayoutResult['runs'][number]) => number | null])[]): {
  medians: { layout: string; measure: string; value: number }[]; runs: { layout: string; measure: string; value: number; run: number }[];
} {
  const runs = layouts.flatMap((l) => measures.flatMap(([measure, get]) => l.runs.flatMap((r) => {
    const value = get(r);
    return value === null ? [] : [{ layout: l.layout, measure, value, run: r.run }];
  })));
  const medians = layouts.flatMap((l) => measures.flatMap(([measure]) => {
    const s = summarize(runs.filter((r) => r.layout === l.layout && r.measure === measure).map((r) => r.value));
    return s === null ? [] : [{ layout: l.layout, measure, value: s.median }];
  }));
  return { medians, runs };
}

async function sustainedChart(t: ThroughputResult): Promise<Chart> {
  const layouts = layoutsInOrder(t);
  const { medians, runs } = medianAndRuns(layouts, [['sustained', (r) => r.search.sustainedPerS]]);
  const none = layouts.flatMap((l) => l.runs.filter((r) => r.search.sustainedPerS === null).map((r) => `${l.layout} run ${r.run}`));
  const y = { field: 'layout', type: 'nominal', title: 'layout', sort: LAYOUT_SCALE.domain } as const;
  const x = { field: 'value', type: 'quantitative', title: 'highest sustained rate (orders/s)' } as const;
  return renderChart('chart-throughput-sustained', 'The highest sustained rate per layout: the bar is the median of the runs, each circle one run.'
    + (none.length > 0 ? ` Not drawn (not even the lowest rate tried was sustained): ${none.join(', ')}.` : ''), {
    width: 620, height: { step: 42 },
    layer: [
      { data: { values: medians }, mark: { type: 'bar', height: { band: 0.6 } }, encoding: { y, x, color: layoutColor } },
      { data: { values: runs }, mark: runMark, encoding: { y, x } },
    ],
  });
}

/** The end-to-end latencies of a cost point, in the order an order meets them. */
const LATENCIES: readonly (readonly [string, (c: CostPoint) => number | null])[] = [
  ['ingress p50', (c) => c.point.ingressLatencyMs.p50], ['ingress p99', (c) => c.point.ingressLatencyMs.p99],
  ['to systems p50', (c) => c.point.toSystemsMs.p50], ['to systems p99', (c) => c.point.toSystemsMs.p99],
  ['to lake p50', (c) => c.point.toLakeMs.p50], ['to lake p99', (c) => c.point.toLakeMs.p99],
];

async function endToEndChart(t: ThroughputResult): Promise<Chart> {
  const layouts = layoutsInOrder(t);
  // A log axis has no place for 0 (or for a latency not measured).
  const positive = (v: number | null): number | null => (v !== null && v > 0 ? v : null);
  const { medians, runs } = medianAndRuns(layouts, LATENCIES.map(([measure, get]) => [measure, (r) => (r.cost ? positive(get(r.cost)) : null)] as const));
  const y = { field: 'measure', type: 'nominal', title: `latency at ${formatNumber(t.method.costRatePerS)} orders/s`, sort: LATENCIES.map(([m]) => m), axis: { labelLimit: 200 } } as const;
  const yOffset = { field: 'layout', type: 'nominal', sort: LAYOUT_SCALE.domain, scale: { domain: LAYOUT_SCALE.domain } } as const;
  const x = { field: 'value', type: 'quantitative', title: 'ms from the intended send time (log scale)', scale: { type: 'log' } } as const;
  return renderChart('chart-throughput-end-to-end', `End-to-end latency at the common rate of ${formatNumber(t.method.costRatePerS)} orders/s per layout: `
    + 'the ingress answer, every downstream system having applied the order, and the lake holding all of its records, each as p50 and p99 from the '
    + 'intended send time. The thick tick is the median of the runs, each circle one run; the time axis is logarithmic.', {
    width: 620, height: { step: 16 },
    layer: [
      { data: { values: medians }, mark: { type: 'tick', thickness: 3, size: 14 }, encoding: { y, yOffset, x, color: layoutColor } },
      { data: { values: runs }, mark: { ...runMark, size: 28 }, encoding: { y, yOffset, x } },
    ],
  } as TopLevelSpec);
}

/** What crosses the integration per order, apart: storage writes and socket (and pipe) writes. */
const BYTES: readonly (readonly [string, (c: CostPoint) => number])[] = [
  ['to storage', (c) => c.diskBytesPerOrder], ['to sockets and pipes', (c) => c.socketBytesPerOrder],
];

async function bytesChart(t: ThroughputResult): Promise<Chart> {
  const layouts = layoutsInOrder(t);
  const { medians, runs } = medianAndRuns(layouts, BYTES.map(([measure, get]) => [measure, (r) => (r.cost ? get(r.cost) : null)] as const));
  const y = { field: 'measure', type: 'nominal', title: 'bytes written', sort: BYTES.map(([m]) => m), axis: { labelLimit: 200 } } as const;
  const yOffset = { field: 'layout', type: 'nominal', sort: LAYOUT_SCALE.domain, scale: { domain: LAYOUT_SCALE.domain } } as const;
  const x = { field: 'value', type: 'quantitative', title: `bytes per order at ${formatNumber(t.method.costRatePerS)} orders/s` } as const;
  return renderChart('chart-throughput-bytes', `Bytes per order at the common rate of ${formatNumber(t.method.costRatePerS)} orders/s per layout: written to `
    + 'storage by all landscape processes (write_bytes: pages dirtied), and written to sockets and pipes (wchar minus write_bytes). The bar is the median '
    + 'of the runs, each circle one run.', {
    width: 620, height: { step: 20 },
    layer: [
      { data: { values: medians }, mark: 'bar', encoding: { y, yOffset, x, color: layoutColor } },
      { data: { values: runs }, mark: runMark, encoding: { y, yOffset, x } },
    ],
  } as TopLevelSpec);
}

/** The throughput charts by the place in the section they belong to. */
export async function throughputCharts(t: ThroughputResult): Promise<[FigureGroup, Chart[]][]> {
  return [
    ['throughput', [await latencyChart(t), await sustainedChart(t)]],
    ['throughput-cost', [await costChart(t), await endToEndChart(t), await bytesChart(t)]],
  ];
}
