/**
 * The two sections a review board reads first: the executive summary (one sentence per question a
 * board asks, each with its figure, interval and verdict, all taken from the headline rows so they
 * cannot disagree with the tables) and the limitations of this very run (machine, fault class, the
 * hub's broker, options and tuning, repeats, and everything the runners noted).
 */
import { formatBytes, formatList, formatNumber } from './format.ts';
import { changeText, plainPairCells } from './headline-cells.ts';
import { connectionsHeadlineN } from './headline.ts';
import { list, paragraph, type Block, type Section } from './document-model.ts';
import type { ConnectionsResult, HeadlineRow, Layout, Report, RunnerName } from './model.ts';

type PairCells = ReturnType<typeof plainPairCells>;

function rowOf(r: Report, runner: RunnerName, metric: string): HeadlineRow | undefined {
  return r.headline.find((h) => h.runner === runner && h.metric === metric);
}

/** What a verdict stands on, said in words: "exact: lower by 58 % (better)", "3 runs: no clear difference", "one run, no interval". */
function verdictWords(h: HeadlineRow, c: PairCells): string {
  if (h.exact) return `counted, exact: ${c.verdict}`;
  if (h.intervals) return `median of ${h.runs ?? 2} runs with 95 % intervals: ${c.verdict}`;
  if (h.legacy === h.hub || h.legacy === null || h.hub === null) return 'one run: the same';
  // One run has no interval: say which way it went, and that it may be noise.
  return `one run, no interval, so possibly noise: ${changeText(h.legacy, h.hub, h.ratio, h.better)}`;
}

/** "legacy 24, hub 10 links (counted, exact: lower by 58 % (better))", or null when the row is missing or either side was not measured. */
function comparison(h: HeadlineRow | undefined, what: string): string | null {
  if (!h || h.legacy === null || h.hub === null) return null;
  const c = plainPairCells(h);
  return `${what}: legacy ${c.legacy}, hub ${c.hub} ${h.unit} (${verdictWords(h, c)})`;
}

/** How a layout's declared links grew with the systems measured: "from 5 at n = 3 to 24 at n = 9, about 3.2 per added system". */
function growthText(c: ConnectionsResult, layout: Layout): string | null {
  const points = c.points.filter((p) => p.layout === layout).sort((a, b) => a.n - b.n);
  if (points.length < 2) return null;
  const first = points[0];
  const last = points[points.length - 1];
  const perSystem = (last.declaredLinks - first.declaredLinks) / (last.n - first.n);
  return `${layout}'s from ${first.declaredLinks} at n = ${first.n} to ${last.declaredLinks} at n = ${last.n}, about ${formatNumber(perSystem)} per added system`;
}

function sentence(question: string, parts: readonly (string | null)[], tail = ''): string | null {
  const present = parts.filter((p): p is string => p !== null);
  return present.length === 0 ? null : `${question} ${present.join('; ')}.${tail}`;
}

function couplingSentence(r: Report): string | null {
  const c = r.runners.connections;
  if (!c) return null;
  const n = connectionsHeadlineN(c);
  const growth = [growthText(c, 'legacy'), growthText(c, 'hub')].filter((g): g is string => g !== null);
  return sentence(`How coupled is each layout, and how does that grow? At n = ${n} systems,`, [
    comparison(rowOf(r, 'connections', 'declared links'), 'declared links'),
    comparison(rowOf(r, 'connections', 'adapters (all systems)'), 'adapters'),
    comparison(rowOf(r, 'connections', 'live TCP connections'), 'live TCP connections'),
    growth.length === 0 ? null : `declared links grew, ${growth.join(', and the ')}`,
  ], ' Growth to larger landscapes is projected, as a model, in its own section.');
}

function failureSentence(r: Report): string | null {
  const f = r.runners.failures;
  if (!f) return null;
  const lost = rowOf(r, 'failures', 'records lost');
  const best = lost && lost['legacy-ha'] != null && lost['hub-cluster'] != null
    ? `with both at their best, legacy-ha lost ${formatNumber(lost['legacy-ha'])} and hub-cluster ${formatNumber(lost['hub-cluster'])} records` : null;
  return sentence('What happens when a part fails? Killing each component in turn (kill -9),', [
    comparison(lost, 'records lost'),
    comparison(rowOf(r, 'failures', 'single points of failure'), 'single points of failure'),
    comparison(rowOf(r, 'failures', 'mean time from kill to service'), 'mean time from kill to service'),
    best,
  ]);
}

function costSentence(r: Report): string | null {
  const t = r.runners.throughput;
  if (!t) return null;
  return sentence(`What does a unit of work cost, and how fast can it go? At the common rate of ${formatNumber(t.method.costRatePerS)} orders/s,`, [
    comparison(rowOf(r, 'throughput', 'CPU per order at the cost rate'), 'CPU per order'),
    comparison(rowOf(r, 'throughput', 'highest sustained rate'), 'highest sustained rate'),
    comparison(rowOf(r, 'throughput', 'time to lake p99 at the cost rate'), 'time to the lake at p99'),
    comparison(rowOf(r, 'throughput', 'idle CPU, no load'), 'CPU with no load at all'),
  ], ` On this machine (${r.machine.cores} cores): absolute rates are the machine's.`);
}

function changeSentence(r: Report): string | null {
  const o = r.runners.onboarding;
  if (!o) return null;
  const added = [...new Set(o.layouts.flatMap((l) => l.addedSystems))];
  return sentence(`What does a change cost? Adding ${formatList(added)} to the running landscape,`, [
    comparison(rowOf(r, 'onboarding', 'existing systems reconfigured'), 'existing systems reconfigured'),
    comparison(rowOf(r, 'onboarding', 'existing systems restarted'), 'existing systems restarted'),
    comparison(rowOf(r, 'onboarding', 'ingress downtime'), 'ingress downtime'),
    comparison(rowOf(r, 'onboarding', 'newcomers that received history'), 'newcomers that received the history'),
  ]);
}

/** The executive summary: always the report's first section. */
export function summarySection(r: Report): Section {
  const sentences = [couplingSentence(r), failureSentence(r), costSentence(r), changeSentence(r)].filter((s): s is string => s !== null);
  const blocks: Block[] = [
    paragraph(`The same ${r.topology.systems.length}-system landscape "${r.topology.name}" was run point to point (legacy) and through a Kafka-style hub, `
      + 'with the same load and the same faults. For each question a review board asks, the measured answer; the verdict compares the hub with legacy '
      + 'and is computed from the figures (a difference the runs cannot tell from noise is "no clear difference"). The limitations below say what '
      + 'these figures do not cover.'),
  ];
  blocks.push(sentences.length === 0 ? paragraph('No runner ran, so there is nothing to summarise.') : list(sentences));
  return { id: 'summary', title: 'Executive summary', blocks };
}

function machineLimit(r: Report): string {
  const m = r.machine;
  return `One machine: ${m.cpuModel}, ${m.cores} cores, ${formatBytes(m.memoryBytes)} of memory, ${m.os}. Every process of a layout (the systems, `
    + 'RabbitMQ or the broker, the lake sink, the load generator) shared those cores, so rates, latencies and CPU figures are this machine\'s, and a '
    + 'landscape spread over many hosts (network hops, separate cores per process) was not measured.';
}

function faultLimit(r: Report): string {
  const f = r.runners.failures;
  if (!f) return 'No faults were injected: the failures runner did not run.';
  const failed = f.layouts.reduce((sum, l) => sum + l.components.length, 0);
  const skipped = f.layouts.flatMap((l) => l.skipped.map((s) => `${l.layout} ${s.component} (${s.reason})`));
  return `One fault class: kill -9 of one component at a time (${failed} faults over ${formatList(f.layouts.map((l) => l.layout))}), a system kept down `
    + `${formatNumber(f.downMs)} ms${f.infraDownMs !== undefined ? `, RabbitMQ, a broker or the lake sink ${formatNumber(f.infraDownMs)} ms` : ''}. `
    + 'No network partition, slow or lossy link, full disk, clock skew, slow process or two failures at once was tried.'
    + (skipped.length > 0 ? ` Not failed in this run: ${skipped.join('; ')}.` : '');
}

function brokerLimit(r: Report): string {
  const v = r.versions;
  return `The hub was ${v.hub}; the legacy layout's queues were ${v.rabbitmq ?? 'not used (no RabbitMQ)'}. The hub's figures are for that broker with `
    + 'the settings the run lists; Apache Kafka or another RabbitMQ set up differently may measure otherwise.';
}

function optionsLimit(r: Report): string[] {
  const items: string[] = [];
  if (r.scenario.quick) items.push('Quick mode: a reduced landscape and shorter steps than the scenario\'s full settings.');
  const t = r.runners.throughput;
  if (t) {
    const knobs = (layout: Layout): number => t.tuning.filter((k) => k.layout === layout).length;
    items.push(`Tuning: the throughput runner lists the ${knobs('legacy')} legacy and ${knobs('hub')} hub knobs it ran with (batching, prefetch, fetch `
      + 'waits, flush intervals), each with its reason; other values would move the figures.');
    for (const cut of t.method.tradeOffs) items.push(`Throughput method trade-off: ${cut}`);
  }
  const measuredOnce = r.headline.filter((h) => !h.exact && h.intervals === undefined && (h.legacy !== null || h.hub !== null));
  if (measuredOnce.length > 0) {
    const runners = [...new Set(measuredOnce.map((h) => h.runner))];
    items.push(`Measured once: the ${formatList(runners)} figures that are not counted come from one run, so they carry no interval and a `
      + 'difference among them may be noise.');
  }
  items.push(`The landscape: the ${r.topology.systems.length} systems of "${r.topology.name}" are untangle's sample processes doing the work the `
    + 'topology declares (per-message CPU work, rules, formats), not real applications.');
  if (r.runners.connections) {
    const maxN = Math.max(...r.runners.connections.points.map((p) => p.n));
    items.push(`Growth beyond n = ${maxN} systems is a model extrapolated from the measured points, not a measurement.`);
  }
  return items;
}

/** Limitations of this run, generated from what it recorded. */
export function limitationsSection(r: Report): Section {
  const items = [machineLimit(r), faultLimit(r), brokerLimit(r), ...optionsLimit(r)];
  const blocks: Block[] = [list(items)];
  if (r.notes.length > 0) {
    blocks.push(paragraph('What the runners noted during the run (skipped parts, deviations, where figures come from):'), list(r.notes));
  }
  return { id: 'limitations', title: 'Limitations', blocks };
}
