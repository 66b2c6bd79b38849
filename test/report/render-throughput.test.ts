// The throughput and cost section of report.md and report.html: the method, the sustained rate over the
// runs, each point of run 1, the cost at the common rate by part and by process, what crosses the
// integration, the idle cost, the scale-out and the tuning knobs, and the glossary entries behind them.
import { describe, expect, it } from 'vitest';
import { reportDocument } from '../../report/document.ts';
import { headlineRows } from '../../report/headline.ts';
import type { Report } from '../../report/model.ts';
import { renderHtml } from '../../report/render-html.ts';
import { renderMarkdown } from '../../report/render-md.ts';
import { sampleReport } from './fixture.ts';
import { figuresOf } from './html-checks.ts';

/** The markdown of the throughput section alone. */
function section(md: string): string {
  const start = md.indexOf('## Throughput and cost');
  expect(start).toBeGreaterThan(0);
  const end = md.indexOf('\n## ', start + 1);
  return md.slice(start, end < 0 ? undefined : end);
}

/** The rows of an HTML table by its id, each as its cells' text. */
function htmlRows(html: string, id: string): string[][] {
  const m = new RegExp(`<table id="table-${id}">([\\s\\S]*?)</table>`).exec(html);
  if (!m) throw new Error(`no table ${id}`);
  return [...m[1].matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((r) => [...r[1].matchAll(/<t[dh][^>]*>([\s\S]*?)<\/t[dh]>/g)].map((c) => c[1]));
}

function withHeadline(r: Report): Report {
  r.headline = headlineRows(r.runners);
  return r;
}

describe('the throughput section in report.md', () => {
  const md = section(renderMarkdown(sampleReport()));

  it('states the method: open loop from the intended send time, the criteria, the precision, the runs, and what the budget cut', () => {
    expect(md).toContain('Each layout ran 3 times. The load was open loop');
    expect(md).toContain('every latency counts from that intended send time');
    expect(md).toContain('only when the ingress p99 stayed within 500 ms and the backlog growth');
    expect(md).toContain('within 500 ms; a point that was not sustained lists every criterion it failed');
    expect(md).toContain('at least 1,000 orders');
    expect(md).toContain('less than 10 % apart');
    expect(md).toContain('one common rate, 40 orders/s');
    expect(md).toContain('What the time budget cut:\n\n- 3 runs per layout, not 5');
    expect(md).toContain('- scale-out was measured once per layout, not repeated');
  });

  it('gives the sustained rate per layout as the median of the runs with its interval, each run, and the bottleneck', () => {
    expect(md).toContain('| layout | sustained orders/s | each run: sustained (lowest not sustained) | bottleneck |');
    expect(md).toContain('| legacy | 175 (144–206) | run 1: 175 (not 188); run 2: 163 (not 175); run 3: 188 (not 200) | C (3 of 3 runs) |');
    expect(md).toContain('| hub | 600 (350–850) | run 1: 600 (not 700); run 2: 500 (not 600); run 3: 700 (not 800) | G (2 of 3 runs), broker (1 of 3) |');
  });

  it('lists every point of run 1, lowest rate first, with why a point was not sustained, in two narrow tables', () => {
    expect(md).toContain('**legacy, run 1: load and ingress at each rate tried**\n\n| target/s | achieved/s | failed | ingress p50 / p99 / p99.9 | backlog growth | sustained |');
    expect(md).toContain('| 175 | 175 | 0 | 51.8 / 197 / 350.2 ms | -6 ms | yes |\n| 188 | 181.8 | 0 | 324.7 / 758.3 / 986.7 ms | 400 ms '
      + '| no: ingress p99 758 ms &gt; 500 ms; accepted 181.8/s of 188/s |');
    expect(md).toContain('| 700 | 646.4 | 0 | 150.6 / 352.3 / 469.4 ms | 210.9 ms | no: accepted 646.4/s of 700/s |');
    expect(md).toContain('**hub, run 1: time to the systems and to the lake at each rate tried**\n\n| target/s | to systems p50 / p99 | to lake p50 / p99 | completed | busiest process |');
    expect(md).toContain('| 188 | 3,167 / 6,833 ms | 3,567 / 7,333 ms | 95.7 % | C |');
    expect(md).toContain('| 700 | 255.6 / 801.3 ms | 300.6 / 1,041 ms | 91.4 % | G |');
    // Run 1 of legacy tried six rates; the other runs' points are not tabled.
    const legacyPoints = md.slice(md.indexOf('**legacy, run 1: load and ingress'), md.indexOf('**legacy, run 1: time to'));
    expect(legacyPoints.match(/^\| \d+ \|/gm)).toHaveLength(6);
    expect(legacyPoints).not.toContain('| 163 |');
  });

  it('splits the CPU per order at the common rate into its parts, with the sum, the measured total and their difference', () => {
    expect(md).toContain('**CPU ms per order by part at 40 orders/s: median of the runs (95 % interval)**\n\n| measure | legacy | hub |');
    for (const row of [
      '| declared work | 4.55 (4.25–4.98) | 4.55 (4.25–4.98) |',
      '| serialization | 2.30 (2.14–2.52) | 1.40 (1.30–1.53) |',
      '| transport and runtime | 5.49 (5.12–6.01) | 3.23 (3.02–3.54) |',
      '| lake export (legacy) | 1.52 (1.31–1.72) | 0 |',
      '| broker or RabbitMQ | 1.88 (1.75–2.06) | 1.68 (1.57–1.84) |',
      '| lake writer (hub) | 0 | 0.510 (0.457–0.543) |',
      '| sum of the parts | 16.7 (15.4–18.2) | 12.30 (11.46–13.38) |',
      '| all landscape processes (measured total) | 16.9 (15.7–18.5) | 12.55 (11.69–13.65) |',
    ]) expect(md).toContain(row);
  });

  it('gives the CPU per order of each process with its role, a dash where a layout has no such process', () => {
    expect(md).toContain('| process | role | legacy | hub |\n|:---|:---|---:|---:|\n| A | system | 3.01 | 2.01 |');
    expect(md).toContain('| rabbitmq | rabbitmq | 1.88 | – |\n| broker | broker | – | 1.68 |\n| lake-sink | lake-sink | – | 0.810 |');
  });

  it('names what crosses the integration: records, integration CPU per record, disk bytes and socket and pipe bytes, and the load generator apart', () => {
    expect(md).toContain('| records crossing the integration | 24 | 24 |');
    expect(md).toContain('| integration CPU ms per record | 0.466 (0.431–0.512) | 0.285 (0.265–0.310) |');
    expect(md).toContain('| disk bytes (write_bytes: pages dirtied for storage) | 14,200 (13,000–15,500) | 9,650 (8,840–10,520) |');
    expect(md).toContain('| socket and pipe bytes (wchar − write_bytes) | 21,400 (19,600–23,300) | 30,800 (28,200–33,600) |');
    expect(md).toContain('| to systems p99 | 5,400 (4,680–6,160) | 120 (104–137) |');
    expect(md).toContain('The load generator runs as a process of its own and is in none of the figures above; it used 0.320 (0.292–0.350) CPU ms per order (legacy) '
      + 'and 0.310 (0.285–0.337) CPU ms per order (hub).');
  });

  it('gives the idle cost per process and in total, and says it is the always-on cost', () => {
    expect(md).toContain('This is the always-on cost: what the landscape burns even when no order arrives');
    expect(md).toContain('| F | system | 3.20 | 4.20 |');
    expect(md).toContain('| rabbitmq | rabbitmq | 14.5 | – |\n| broker | broker | – | 6.30 |\n| lake-sink | lake-sink | – | 3.90 |\n| total |  | 31.7 (28.2–35.4) | 47.6 (42.4–53.1) |');
  });

  it('gives the scale-out per layout and the tuning knobs', () => {
    expect(md).toContain('| layout | system scaled | instances | sustained/s, 1 instance | sustained/s, scaled | bottleneck: 1 instance → scaled |');
    expect(md).toContain('| legacy | C | 3 | 175 | 225 | C → A |\n| hub | G | 3 | 600 | 800 | G → broker |');
    expect(md).toContain('| layout | part | knob | value | why |');
    expect(md).toContain('| hub | kafkajs consumer | maxWaitTimeInMs | 25 | a fetch with little to read returns within 25 ms, so time to systems is not a fetch wait |');
    expect(md).toContain('| legacy | AMQP consumer | prefetch | 50 |');
  });

  it('defines its figures in the glossary', () => {
    const full = renderMarkdown(sampleReport());
    const glossary = full.slice(full.indexOf('**Throughput and cost: what each figure means**'));
    for (const term of ['sustained rate', 'open-loop load, intended send time', 'ingress latency', 'time to systems', 'time to lake', 'backlog growth', 'CPU per order',
      'CPU parts', 'idle CPU', 'disk bytes (write_bytes)', 'socket and pipe bytes (wchar − write_bytes)', 'records crossing the integration', 'scale-out']) {
      expect(glossary, term).toMatch(new RegExp(`\\n\\| ${term.replace(/[()]/g, '\\$&')} \\| [A-Z]`));
    }
  });
});

describe('the throughput section in report.html', async () => {
  const html = await renderHtml(sampleReport());

  it('has the same figures in its tables', () => {
    expect(htmlRows(html, 'throughput-sustained')[1].slice(0, 2)).toEqual(['legacy', '175 (144–206)']);
    expect(htmlRows(html, 'throughput-sustained')[2].slice(0, 2)).toEqual(['hub', '600 (350–850)']);
    expect(htmlRows(html, 'throughput-cost-parts')).toContainEqual(['serialization', '2.30 (2.14–2.52)', '1.40 (1.30–1.53)']);
    expect(htmlRows(html, 'throughput-cost-parts')).toContainEqual(['lake writer (hub)', '0', '0.510 (0.457–0.543)']);
    expect(htmlRows(html, 'throughput-cost-processes')).toContainEqual(['lake-sink', 'lake-sink', '–', '0.810']);
    expect(htmlRows(html, 'throughput-cost-records')).toContainEqual(['disk bytes (write_bytes: pages dirtied for storage)', '14,200 (13,000–15,500)', '9,650 (8,840–10,520)']);
    expect(htmlRows(html, 'throughput-idle')).toContainEqual(['total', '', '31.7 (28.2–35.4)', '47.6 (42.4–53.1)']);
    expect(htmlRows(html, 'throughput-scale-out')).toContainEqual(['hub', 'G', '3', '600', '800', 'G → broker']);
    expect(htmlRows(html, 'throughput-tuning')).toContainEqual(['hub', 'kafkajs producer', 'acks', '1', 'one broker: the leader&#39;s acknowledgement is all there is']);
    expect(htmlRows(html, 'throughput-points-legacy')).toContainEqual(['188', '181.8', '0', '324.7 / 758.3 / 986.7 ms', '400 ms',
      'no: ingress p99 758 ms &gt; 500 ms; accepted 181.8/s of 188/s']);
    expect(html).toContain('<table id="table-glossary-throughput">');
  });

  it('draws the latency curves with run 1\'s limit per layout, and the cost by part with the measured totals', () => {
    const figures = figuresOf(html);
    const latency = figures.find((f) => f.id === 'chart-throughput-latency')!.body;
    expect(latency).toContain('>legacy: run 1 sustained 175 orders/s</text>');
    expect(latency).toContain('>hub: run 1 sustained 600 orders/s</text>');
    expect(latency).toContain('>to systems p99</text>');
    expect(latency).toContain('>not sustained</text>');
    const cost = figures.find((f) => f.id === 'chart-throughput-cost')!.body;
    for (const part of ['declared work', 'serialization', 'transport and runtime', 'lake export (legacy)', 'broker or RabbitMQ', 'lake writer (hub)']) {
      expect(cost, part).toContain(`>${part}</text>`);
    }
    expect(cost).toContain('>16.9 ms measured</text>');
    expect(cost).toContain('>12.55 ms measured</text>');
    // The charts sit beside the tables they draw: the latency chart before the points, the cost chart before the parts.
    expect(html.indexOf('id="chart-throughput-latency"')).toBeLessThan(html.indexOf('id="table-throughput-points-legacy"'));
    expect(html.indexOf('id="table-throughput-points-hub"')).toBeLessThan(html.indexOf('id="chart-throughput-cost"'));
    expect(html.indexOf('id="chart-throughput-cost"')).toBeLessThan(html.indexOf('id="table-throughput-cost-parts"'));
  });
});

describe('the throughput section from other runs', () => {
  it('keeps its tables narrow: no table of the section has more than six columns', () => {
    const doc = reportDocument(sampleReport());
    const tables = doc.sections.find((s) => s.id === 'throughput')!.blocks.flatMap((b) => (b.kind === 'table' ? [b.table] : []));
    expect(tables.length).toBeGreaterThanOrEqual(12);
    for (const t of tables) expect(t.columns.length, t.id).toBeLessThanOrEqual(6);
  });

  it('takes the median of the runs, not the first run', () => {
    const r = sampleReport();
    r.runners.throughput!.layouts[0].runs[0].search.sustainedPerS = 190;
    expect(section(renderMarkdown(withHeadline(r)))).toMatch(/\| legacy \| 188 \(\d+–\d+\) \| run 1: 190 \(not 188\); run 2: 163/);
  });

  it('leaves a run out of the cost when it did not sustain the cost rate, and says so', () => {
    const r = sampleReport();
    const hub = r.runners.throughput!.layouts[1];
    hub.runs[1].cost = null;
    const md = section(renderMarkdown(withHeadline(r)));
    expect(md).toContain('Left out because the cost rate was not sustained there: hub run 2.');
    // Hub's total over runs 1 and 3 only (12.549 and 12.345): their median is their mean, 12.447; with run 2 it was 12.55 (11.69–13.65).
    expect(md).toContain('| all landscape processes (measured total) | 16.9 (15.7–18.5) | 12.4 (11.2–13.7) |');
  });

  it('shows one run\'s figures without an interval, and a layout without scale-out as not measured', () => {
    const r = sampleReport();
    const t = r.runners.throughput!;
    t.method.repeats = 1;
    for (const l of t.layouts) l.runs = l.runs.slice(0, 1);
    t.layouts[1].scaleOut = null;
    const md = section(renderMarkdown(withHeadline(r)));
    expect(md).toContain('Each layout ran 1 time.');
    expect(md).toContain('| legacy | 175 | run 1: 175 (not 188) | C (1 of 1 run) |');
    expect(md).toContain('| serialization | 2.3 | 1.4 |');
    expect(md).toContain('| hub | not measured | – | – | – | – |');
  });

  it('renders a result with no layouts and no tuning without failing', async () => {
    const r = sampleReport();
    r.runners.throughput = { ...r.runners.throughput!, tuning: [], layouts: [] };
    const md = section(renderMarkdown(withHeadline(r)));
    expect(md).toContain('**Tuning knobs of each layout\'s wiring, as the runs used them**: none');
    expect(figuresOf(await renderHtml(r)).filter((f) => f.id.startsWith('chart-throughput-')).map((f) => f.id)).toEqual(['chart-throughput-latency',
      'chart-throughput-sustained', 'chart-throughput-cost', 'chart-throughput-end-to-end', 'chart-throughput-bytes']);
  });
});
