/**
 * The failures charts of report.html: the ingress error rate while each component was down, the
 * records lost and duplicated, the time from the kill to ready and to service, and a fault timeline
 * per component of the ingress's answers by the time each came (accepted and failed), so an outage
 * looks like one. Components of different layouts share a place by role (failures-compare.ts
 * slotOf: rabbitmq and broker are one messaging node, rabbitmq-2 and broker-2 messaging node 2).
 */
import type { TopLevelSpec } from 'vega-lite';
import { renderChart, layoutScale, type Chart } from './chart-render.ts';
import { FAILURES_LAYOUTS, slotOf } from './failures-compare.ts';
import type { FailuresResult } from './model.ts';

const WIDE = 620;
const HEIGHT = 280;

export async function failuresCharts(f: FailuresResult): Promise<Chart[]> {
  const layouts = FAILURES_LAYOUTS.filter((layout) => f.layouts.some((l) => l.layout === layout));
  const faults = layouts.flatMap((layout) => f.layouts.find((l) => l.layout === layout)!.components.map((c) => ({ layout, slot: slotOf(c), c })));
  const slots = [...new Set(faults.map((x) => x.slot))];
  const scale = layoutScale(layouts);
  const color = { field: 'layout', type: 'nominal', title: 'layout', scale } as const;
  // Slots of a cluster (messaging node 2, ...) are long names: slanted labels.
  const labelAngle = slots.some((s) => s.length > 12) ? -30 : 0;
  const x = { field: 'slot', type: 'nominal', sort: slots, title: 'failed component', axis: { labelAngle } } as const;
  const xOffset = { field: 'layout', type: 'nominal', scale: { domain: scale.domain } } as const;
  const named = (xs: readonly { layout: string; c: { component: string } }[]): string => xs.map((r) => `${r.c.component} (${r.layout})`).join(', ');

  const errorRates = faults.map((r) => ({ layout: r.layout, slot: r.slot, errorRate: r.c.ingressErrorRate }));

  const records = faults.flatMap((r) => [
    { layout: r.layout, slot: r.slot, measure: 'records lost', records: r.c.recordsLost },
    { layout: r.layout, slot: r.slot, measure: 'records duplicated', records: r.c.recordsDuplicated },
  ]);

  const times = faults.flatMap((r) => [
    { layout: r.layout, slot: r.slot, measure: 'kill → ready', ms: r.c.downMs },
    ...(typeof r.c.killToServiceMs === 'number' ? [{ layout: r.layout, slot: r.slot, measure: 'kill → service', ms: r.c.killToServiceMs }] : []),
  ]);
  const notBack = faults.filter((r) => r.c.killToServiceMs === null);
  const serviceUnmeasured = faults.filter((r) => r.c.killToServiceMs === undefined);

  const timeline = faults.flatMap((r) => {
    const t = r.c.outcomeTimeline;
    if (!t) return [];
    const perS = 1000 / t.bucketMs;
    return [
      ...t.points.flatMap((p) => [
        { layout: r.layout, slot: r.slot, series: 'accepted', tS: p.tS, perS: p.accepted * perS },
        { layout: r.layout, slot: r.slot, series: 'failed', tS: p.tS, perS: p.failed * perS },
      ]),
      { layout: r.layout, slot: r.slot, series: 'ready', tS: r.c.downMs / 1000, perS: 0 },
    ];
  });
  const noTimeline = faults.filter((r) => !r.c.outcomeTimeline);

  return [
    await renderChart('chart-failures-error-rate', 'Share of ingress requests not accepted while each component was down, per layout.', {
      width: WIDE, height: HEIGHT, data: { values: errorRates }, mark: 'bar',
      encoding: { x, xOffset, y: { field: 'errorRate', type: 'quantitative', title: 'ingress error rate', axis: { format: '.0%' } }, color },
    }),
    await renderChart('chart-failures-records', 'Records lost and records duplicated per failed component and layout, counted by the oracle over the '
      + 'orders accepted in each fault\'s window after settling (each row its own scale).', {
      data: { values: records },
      facet: { row: { field: 'measure', type: 'nominal', title: null, sort: ['records lost', 'records duplicated'] } },
      spec: {
        width: WIDE, height: 150, mark: 'bar',
        encoding: { x, xOffset, y: { field: 'records', type: 'quantitative', title: 'records', axis: { tickMinStep: 1 } }, color },
      },
      resolve: { scale: { y: 'independent' } },
    }),
    await renderChart('chart-failures-recovery', 'Time from the kill until the component was ready again, and until the service worked again (kill → service, '
      + 'see the glossary), per layout; kill → service below kill → ready means the layout carried on without the component.'
      + (notBack.length > 0 ? ` Service not back within the observation, so not drawn: ${named(notBack)}.` : '')
      + (serviceUnmeasured.length > 0 ? ` kill → service not measured (an older report): ${named(serviceUnmeasured)}.` : ''), {
      data: { values: times },
      facet: { row: { field: 'measure', type: 'nominal', title: null, sort: ['kill → ready', 'kill → service'] } },
      spec: {
        width: WIDE, height: 170, mark: 'bar',
        encoding: { x, xOffset, y: { field: 'ms', type: 'quantitative', title: 'ms from the kill' }, color },
      },
    }),
    await renderChart('chart-failures-timeline', 'Fault timeline per failed component: ingress answers per second by the time each came, accepted (solid) and '
      + 'failed (dashed), from 2 s before the kill (at 0) to the end of the observation; the thin vertical line in each layout\'s colour marks when the '
      + 'component was ready again.' + (noTimeline.length > 0 ? ` Not measured (an older report): ${named(noTimeline)}.` : ''), {
      data: { values: timeline },
      facet: { field: 'slot', type: 'nominal', title: null, sort: slots },
      columns: 4,
      spec: {
        width: 150, height: 110,
        layer: [
          {
            transform: [{ filter: "datum.series !== 'ready'" }],
            mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.5 },
            encoding: {
              x: { field: 'tS', type: 'quantitative', title: 's from the kill' },
              y: { field: 'perS', type: 'quantitative', title: 'answers/s' },
              color,
              strokeDash: { field: 'series', type: 'nominal', title: 'answer', scale: { domain: ['accepted', 'failed'], range: [[1, 0], [4, 3]] } },
              detail: { field: 'series', type: 'nominal' },
            },
          },
          {
            transform: [{ filter: "datum.series === 'ready'" }],
            mark: { type: 'rule', strokeWidth: 1, opacity: 0.7 },
            encoding: { x: { field: 'tS', type: 'quantitative' }, color },
          },
        ],
      },
    } as TopLevelSpec),
  ];
}
