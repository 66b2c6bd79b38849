/**
 * The cost half of the throughput section (document-throughput.ts has the rate search): the CPU per
 * order at the common rate by part and by process, what crosses the integration per order (records,
 * disk bytes, socket and pipe bytes), the latency at that rate, the idle cost with no load, the
 * scale-out and the wiring's tuning knobs. Figures over runs are medians with their 95 % interval.
 */
import { left, paragraph, right, table, type Block } from './document-model.ts';
import { formatNumber, MISSING } from './format.ts';
import type { CostPoint, CpuParts, ThroughputLayoutResult, ThroughputResult } from './model-throughput.ts';
import { formatMedianInterval, roundToNoise, summarize } from './stats.ts';

/** "142 (129–156)" over the values, rounded to their noise; the value alone for one; "–" for none. */
export function medianCell(values: readonly number[], unit = ''): string {
  const s = summarize(values);
  return s === null ? MISSING : formatMedianInterval(s.median, s.lo, s.hi, unit);
}

/** The median alone, rounded to its noise (for tables with many rows, where intervals would crowd). */
function medianOnly(values: readonly number[]): string {
  const s = summarize(values);
  return s === null ? MISSING : roundToNoise(s.median, s.lo, s.hi);
}

/** The parts of an order's CPU in the order a record meets them, as the report names them. */
export const PART_LABELS: Readonly<Record<keyof CpuParts, string>> = {
  declaredWork: 'declared work', rules: 'rules', serialization: 'serialization', transport: 'transport and runtime',
  lakeExport: 'lake export (legacy)', broker: 'broker or RabbitMQ', lakeWriter: 'lake writer (hub)',
};
export const PART_KEYS = Object.keys(PART_LABELS) as (keyof CpuParts)[];

export function costsOf(l: ThroughputLayoutResult): CostPoint[] {
  return l.runs.flatMap((r) => (r.cost ? [r.cost] : []));
}

/** A table with a row per measure and a column per layout, each cell a median (interval) over the layout's cost points. */
function perLayoutTable(id: string, caption: string, layouts: readonly ThroughputLayoutResult[],
  rows: readonly (readonly [string, (c: CostPoint) => number | null])[]): Block {
  return table({
    id, caption, columns: [left('measure'), ...layouts.map((l) => right(l.layout))],
    rows: rows.map(([label, get]) => [label, ...layouts.map((l) => medianCell(costsOf(l).flatMap((c) => {
      const v = get(c);
      return v === null ? [] : [v];
    })))]),
  });
}

/** One row per process of any layout (in the order they first appear), its role and its median in each layout; "–" where a layout has no such process. */
function perProcessRows(layouts: readonly ThroughputLayoutResult[], entries: (l: ThroughputLayoutResult) => { process: string; role: string; value: number }[]): string[][] {
  const roles = new Map<string, string>();
  for (const l of layouts) for (const e of entries(l)) if (!roles.has(e.process)) roles.set(e.process, e.role);
  return [...roles].map(([process, role]) => [process, role,
    ...layouts.map((l) => medianOnly(entries(l).filter((e) => e.process === process).map((e) => e.value)))]);
}

export function costBlocks(t: ThroughputResult, layouts: readonly ThroughputLayoutResult[]): Block[] {
  const rate = formatNumber(t.method.costRatePerS);
  const missing = layouts.flatMap((l) => l.runs.filter((r) => r.cost === null).map((r) => `${l.layout} run ${r.run}`));
  const layoutColumns = layouts.map((l) => right(l.layout));
  return [
    paragraph(`Cost at the common rate of ${rate} orders/s, the same in every layout so that both do the same work: all landscape processes' CPU `
      + '(user and system time) over the window, per order scheduled in it, and where it went, by part, measured inside the processes. '
      + 'The parts are measured apart from the total, so they need not add up to it exactly; the difference is shown. '
      + 'In the tables by process a dash means the layout has no such process. '
      + (missing.length > 0 ? `Left out because the cost rate was not sustained there: ${missing.join(', ')}.` : 'Every run sustained the cost rate.')),
    { kind: 'figures', group: 'throughput-cost' },
    perLayoutTable('throughput-cost-parts', `CPU ms per order by part at ${rate} orders/s: median of the runs (95 % interval)`, layouts, [
      ...PART_KEYS.map((k) => [PART_LABELS[k], (c: CostPoint) => c.parts[k]] as const),
      ['sum of the parts', (c) => PART_KEYS.reduce((a, k) => a + c.parts[k], 0)],
      ['all landscape processes (measured total)', (c) => c.cpuMsPerOrder],
      ['parts minus total (unattributed)', (c) => c.unattributedMsPerOrder],
    ]),
    table({
      id: 'throughput-cost-processes', caption: 'CPU ms per order by process (median of the runs)',
      columns: [left('process'), left('role'), ...layoutColumns],
      rows: perProcessRows(layouts, (l) => costsOf(l).flatMap((c) => c.perProcess.map((p) => ({ process: p.process, role: p.role, value: p.msPerOrder })))),
    }),
    perLayoutTable('throughput-cost-records', `What crosses the integration, per order at ${rate} orders/s: median of the runs (95 % interval)`, layouts, [
      ['records crossing the integration', (c) => c.recordsPerOrder],
      ['integration CPU ms per record', (c) => c.integrationMsPerRecord],
      ['disk bytes (write_bytes: pages dirtied for storage)', (c) => c.diskBytesPerOrder],
      ['socket and pipe bytes (wchar − write_bytes)', (c) => c.socketBytesPerOrder],
    ]),
    perLayoutTable('throughput-cost-latency', `Latency at ${rate} orders/s in ms (median of the runs, 95 % interval)`, layouts, [
      ['ingress p50', (c) => c.point.ingressLatencyMs.p50], ['ingress p99', (c) => c.point.ingressLatencyMs.p99],
      ['ingress p99.9', (c) => c.point.ingressLatencyMs.p999], ['to systems p50', (c) => c.point.toSystemsMs.p50],
      ['to systems p99', (c) => c.point.toSystemsMs.p99], ['to lake p50', (c) => c.point.toLakeMs.p50], ['to lake p99', (c) => c.point.toLakeMs.p99],
    ]),
    paragraph('The load generator runs as a process of its own and is in none of the figures above; it used '
      + `${layouts.map((l) => `${medianCell(costsOf(l).map((c) => c.loadgenMsPerOrder))} CPU ms per order (${l.layout})`).join(' and ')}.`),
  ];
}

export function idleBlocks(t: ThroughputResult, layouts: readonly ThroughputLayoutResult[]): Block[] {
  return [
    paragraph(`Idle cost: CPU ms per second of each process with no load at all, over ${formatNumber(t.method.idleS)} s once the warm-up had drained; `
      + 'the median of the runs. This is the always-on cost: what the landscape burns even when no order arrives (pollers, export timers, '
      + 'heartbeats, fetch loops).'),
    table({
      id: 'throughput-idle', caption: 'Idle CPU ms per second by process (median of the runs)',
      columns: [left('process'), left('role'), ...layouts.map((l) => right(l.layout))],
      rows: [
        ...perProcessRows(layouts, (l) => l.runs.flatMap((r) => r.idle.perProcess.map((p) => ({ process: p.process, role: p.role, value: p.cpuMsPerS })))),
        ['total', '', ...layouts.map((l) => medianCell(l.runs.map((r) => r.idle.totalCpuMsPerS)))],
      ],
    }),
  ];
}

export function scaleOutBlocks(layouts: readonly ThroughputLayoutResult[]): Block[] {
  const rate = (v: number | null): string => (v === null ? 'none' : formatNumber(v));
  return [
    paragraph('Scale-out: the busiest system of the first run\'s cost point ran as several instances and the rate was searched again, once; '
      + 'whether more instances raise the sustained rate, and where the bottleneck goes.'),
    table({
      id: 'throughput-scale-out', caption: 'Scale-out: sustained orders/s with one instance of the system and with several',
      columns: [left('layout'), left('system scaled'), right('instances'), right('sustained/s, 1 instance'), right('sustained/s, scaled'), left('bottleneck: 1 instance → scaled')],
      rows: layouts.map((l) => {
        const s = l.scaleOut;
        if (s === null) return [l.layout, 'not measured', MISSING, MISSING, MISSING, MISSING];
        return [l.layout, s.system, formatNumber(s.instances), rate(s.sustainedPerS1), rate(s.sustainedPerSN), `${s.bottleneck1} → ${s.bottleneckN}`];
      }),
    }),
  ];
}

export function tuningBlocks(t: ThroughputResult): Block[] {
  return [table({
    id: 'throughput-tuning', caption: 'Tuning knobs of each layout\'s wiring, as the runs used them',
    columns: [left('layout'), left('part'), left('knob'), left('value'), left('why')],
    rows: t.tuning.map((k) => [k.layout, k.part, k.knob, k.value, k.why]),
  })];
}
