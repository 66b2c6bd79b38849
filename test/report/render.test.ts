import { describe, expect, it } from 'vitest';
import type { HeadlineRow, Report } from '../../report/model.ts';
import { MODEL_DISCLAIMER } from '../../report/document-runners.ts';
import { figureFile } from '../../report/document-model.ts';
import { renderFigures, standaloneSvg } from '../../report/figures.ts';
import { headlineRows } from '../../report/headline.ts';
import { renderHtml } from '../../report/render-html.ts';
import { renderMarkdown } from '../../report/render-md.ts';
import { validateReport } from '../../report/validate.ts';
import { earlierStyleReport, sampleReport, sampleReportWithCluster } from './fixture.ts';
import { externalReferences, figuresOf } from './html-checks.ts';

const ALL_CHARTS = [
  'chart-connections', 'chart-projection-links', 'chart-projection-adapters', 'chart-projection-live-tcp', 'chart-projection-formats',
  'chart-failures-error-rate', 'chart-failures-records', 'chart-failures-recovery', 'chart-failures-timeline',
  'chart-throughput-latency', 'chart-throughput-sustained', 'chart-throughput-cost', 'chart-throughput-end-to-end', 'chart-throughput-bytes', 'chart-onboarding',
];

const EVIL = '<script>alert(1)</script>"><img src=x onerror=alert(1)> | pipe \\ back "quote\' & amp';

/** The sample report with hostile text everywhere the report carries free text. */
function hostileReport(): Report {
  const r = sampleReport();
  r.runId = `run ${EVIL}`;
  r.scenario.name = `shop ${EVIL}`;
  r.scenario.settings[`key ${EVIL}`] = EVIL;
  r.machine.cpuModel = EVIL;
  r.versions.hub = EVIL;
  r.notes.push(EVIL);
  r.topology.systems[1].name = EVIL;
  r.topology.systems[2].id = `C${EVIL}`;
  r.topology.legacyLinks[0].protocol = EVIL;
  r.topology.legacyLinks[1].to = `C${EVIL}`;
  r.runners.failures!.layouts[0].components[0].component = EVIL;
  r.runners.failures!.layouts[0].components[0].locatedBy = EVIL;
  r.runners.throughput!.layouts[0].runs[0].search.bottleneck = EVIL;
  r.runners.throughput!.tuning[0].why = EVIL;
  r.headline = headlineRows(r.runners);
  r.headline[0].metric = EVIL;
  const checked = validateReport(r);
  if (!checked.ok) throw new Error(checked.errors.join('\n'));
  return checked.report;
}

describe('renderMarkdown', () => {
  const md = renderMarkdown(sampleReport());

  it('starts with the title and states run, scenario, machine, versions, settings and seed', () => {
    expect(md.startsWith('# untangle report: shop, legacy against hub\n')).toBe(true);
    expect(md).toContain('Run 2025-06-01T10-00-00Z-shop of scenario "shop" (scenarios/shop.yaml), seed 42.');
    expect(md).toContain('| CPU | AMD EPYC 7B13 |');
    expect(md).toContain('| cores | 2 |');
    expect(md).toContain('| memory | 8 GiB |');
    expect(md).toContain('| OS | Debian GNU/Linux 12 (bookworm), Linux 6.1.0-28-cloud-amd64 |');
    expect(md).toContain('| kafkajs | 2.2.4 |');
    expect(md).toContain('| throughput.costRatePerS | 40 |');
    expect(md).toContain('took 41 min 12.5 s');
  });

  it('has the headline table: metric, legacy, hub, hub/legacy, better, runs, verdict', () => {
    expect(md).toContain('| runner | metric | legacy | hub | hub/legacy | better | runs | verdict |\n|:---|:---|---:|---:|---:|:---|---:|:---|\n');
    expect(md).toContain('| connections | declared links | 24 | 10 | 0.417× | lower | exact | lower by 58 % (better) |\n');
    expect(md).toContain('| failures | mean time from kill to service (ms) | 8,567 | 6,142 | 0.717× | lower | 1 | one run: no interval |\n');
    expect(md).toContain('| failures | records duplicated | 18 | 15 | 0.833× | lower | 1 | one run: no interval |\n');
    expect(md).toContain('| onboarding | newcomers that received history (systems) | 0 | 3 | – | higher | 1 | one run: no interval |\n');
    expect(md).toContain('taken at n = 9 systems');
  });

  it('shows a repeated row as median (interval) with a verdict, and says below the table how to read it', () => {
    const r = sampleReport();
    const rows: HeadlineRow[] = [
      { runner: 'connections', metric: 'declared links', unit: 'links', legacy: 24, hub: 10, ratio: 10 / 24, better: 'lower', exact: true },
      {
        runner: 'throughput', metric: 'highest sustained rate', unit: 'orders/s', legacy: 142.37, hub: 598.2, ratio: 4.21, better: 'higher',
        runs: 3, intervals: { legacy: [129.1, 155.6], hub: [560.4, 640.1], ratio: [3.9, 4.6] },
      },
      {
        runner: 'throughput', metric: 'ingress p99', unit: 'ms', legacy: 45, hub: 44, ratio: 0.978, better: 'lower',
        runs: 3, intervals: { legacy: [40, 50], hub: [38, 50], ratio: [0.85, 1.12] },
      },
    ];
    r.headline = rows;
    const repeated = renderMarkdown(r);
    expect(repeated).toContain('| throughput | highest sustained rate (orders/s) | 142 (129–156) | 598 (560–640) | 4.21× (3.90–4.60) | higher | 3 | higher by 4.2× (better) |\n');
    expect(repeated).toContain('| throughput | ingress p99 (ms) | 45 (40–50) | 44 (38–50) | 0.98× (0.85–1.12) | lower | 3 | no clear difference |\n');
    const reading = repeated.slice(repeated.indexOf('How to read it'), repeated.indexOf('\n', repeated.indexOf('How to read it')));
    expect(reading).toContain('rows marked exact are counted from the topology or the wiring');
    expect(reading).toContain('A row measured over 3 runs shows the median of the runs and, in brackets, a 95 % interval');
    expect(reading).toContain('When the ratio\'s interval includes 1 the verdict is "no clear difference"');
    // No single-run row here, so nothing about them.
    expect(reading).not.toContain('one run');
    // The sample report has no repeated row outside throughput: its reading explains exact and single-run rows.
    const withoutThroughput = sampleReport();
    delete withoutThroughput.runners.throughput;
    withoutThroughput.headline = headlineRows(withoutThroughput.runners);
    const plain = renderMarkdown(withoutThroughput);
    expect(plain).toContain('Rows marked 1 were measured in one run: they have no interval, so a difference there may be noise');
    expect(plain).not.toContain('A row measured over');
  });

  it('has a section per runner with its full tables', () => {
    for (const title of ['## Connections', '## Failures', '## Throughput and cost', '## Onboarding', '## Topology', '## Executive summary', '## Limitations', '## Growth to large landscapes (a model)', '## Operational surface', '## Monthly cost', '## Glossary', '## Reproducibility']) expect(md).toContain(title);
    expect(md).toContain('| 9 | A B C D E F G H I | 24 | 17 | amqp, file, http | csv, json, xml | 26 | 598 / 600 |');
    expect(md).toContain('| legacy | 175 (144–206) | run 1: 175 (not 188); run 2: 163 (not 175); run 3: 188 (not 200) | C (3 of 3 runs) |');
    expect(md).toContain('| component | kind | kill → ready | kill → service | longest ingress outage | ingress failed / sent while down | error rate |\n');
    expect(md).toContain('| rabbitmq | rabbitmq | 5,000 ms | not within 13,000 ms | 60 ms | 5 / 250 | 2 % |');
    expect(md).toContain('| C | 12 / 6,300 | 8 buffer lost at kill, 4 in-flight call | 3 | 4 |');
    expect(md).toContain('| rabbitmq | 140 / 6,965 | 140 RabbitMQ | 3 | 0 |');
    expect(md).toContain('| B | yes | no | A, F | no | A calls B synchronously: A fails, F polls fail |');
    expect(md).toContain('| existing systems restarted | 3: A, B, D | 0: none |');
    expect(md).toContain('| hub | G | 1,480 / 1,480 | yes |');
  });

  it('says that the connections section is measured and points to the model of larger landscapes', () => {
    expect(MODEL_DISCLAIMER).toContain('model, not measurements');
    expect(md).toContain(MODEL_DISCLAIMER);
    expect(md).not.toContain('Model (not measured): links needed for n systems');
  });

  it('leaves out the sections of runners that did not run', () => {
    const r = sampleReport();
    delete r.runners.failures;
    r.headline = headlineRows(r.runners);
    const partial = renderMarkdown(r);
    expect(partial).not.toContain('## Failures');
    expect(partial).not.toContain('| failures |');
    expect(partial).toContain('## Throughput and cost');
  });

  it('escapes report text: no raw HTML, table pipes kept inside their cell', () => {
    const hostile = renderMarkdown(hostileReport());
    expect(hostile).not.toMatch(/<script|<img/i);
    expect(hostile).toContain('&lt;script&gt;alert(1)&lt;/script&gt;"&gt;&lt;img src=x onerror=alert(1)&gt; \\| pipe \\\\ back');
    // Every row of a table has as many unescaped pipes (cell borders) as the table's header.
    const pipes = (line: string): number => line.split(/(?<!\\)\|/).length - 1;
    const tables = hostile.split(/\n(?!\|)/).map((chunk) => chunk.split('\n').filter((l) => l.startsWith('|'))).filter((t) => t.length > 0);
    expect(tables.length).toBeGreaterThan(10);
    for (const t of tables) for (const line of t) expect(pipes(line), line).toBe(pipes(t[0]));
  });
});

describe('renderHtml', async () => {
  const html = await renderHtml(sampleReport());
  const figures = figuresOf(html);

  it('is self-contained: nothing to fetch, only the SVG namespace names as URLs, and a CSP that forbids loading', () => {
    expect(externalReferences(html)).toEqual([]);
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<>]+/g)].map((m) => m[0]);
    expect(urls.length).toBeGreaterThan(0);
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg', 'http://www.w3.org/1999/xlink']));
    for (const m of html.matchAll(/(\S+)="https?:\/\//g)) expect(m[1]).toMatch(/^xmlns(:xlink)?$/);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'`);
    expect(html).not.toMatch(/<!DOCTYPE svg|<\?xml/);
  });

  it('has both topology diagrams and every chart, each an SVG inside a figure with a caption', () => {
    expect(figures.filter((f) => f.kind === 'diagram').map((f) => f.id)).toEqual(['diagram-legacy', 'diagram-hub']);
    expect(figures.filter((f) => f.kind === 'chart').map((f) => f.id)).toEqual(ALL_CHARTS);
    for (const f of figures) {
      expect(f.body, f.id).toMatch(/^<div class="figure-body"><svg[\s\S]*<\/svg><\/div><figcaption>[^<]+<\/figcaption>$/);
      // Every SVG comes from a library: vega marks its root group, Graphviz its graph group.
      expect(f.body, f.id).toContain(f.kind === 'chart' ? 'class="marks"' : 'class="graph"');
    }
  });

  it('draws every legacy link with its protocol/format and the hub as one node', () => {
    const legacy = figures.find((f) => f.id === 'diagram-legacy')!.body;
    expect(legacy.match(/class="edge"/g)).toHaveLength(24);
    expect(legacy).toContain('>amqp/xml</text>');
    expect(legacy).toContain('>lake</text>');
    const hub = figures.find((f) => f.id === 'diagram-hub')!.body;
    // The ten hub links, and the lake sink writing the lake.
    expect(hub.match(/class="edge"/g)).toHaveLength(11);
    expect(hub).toContain('>kafka/json</text>');
    expect(hub).toContain('>lake sink</text>');
  });

  it('gives every id in the page once (the SVGs\' ids are prefixed per figure)', () => {
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(ids.length).toBeGreaterThan(50);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  it('draws only measurements in the connections chart (the model is in the projection charts)', () => {
    const chart = figures.find((f) => f.id === 'chart-connections')!;
    expect(chart.body).not.toContain('n(n-1)/2');
    expect(chart.body).toContain('legacy: declared links');
    expect(chart.body).toContain('Growth to large landscapes');
  });

  it('has the same tables as the markdown', () => {
    expect(html).toContain('<table id="table-headline">');
    expect(html).toContain('<td data-label="runner">connections</td><td data-label="metric">declared links</td><td class="num" data-label="legacy">24</td>'
      + '<td class="num" data-label="hub">10</td><td class="num" data-label="hub/legacy">0.417×</td><td data-label="better">lower</td>'
      + '<td class="num" data-label="runs">exact</td><td data-label="verdict">lower by 58 % (better)</td></tr>');
    expect(html).toMatch(/<\/table><\/div>\n(<p>[^<]*<\/p>\n)*<p>How to read it: /);
    expect(html).toContain(MODEL_DISCLAIMER);
  });

  it('draws charts only for the runners present', async () => {
    const r = sampleReport();
    delete r.runners.throughput;
    delete r.runners.connections;
    r.headline = headlineRows(r.runners);
    const partial = figuresOf(await renderHtml(r));
    expect(partial.filter((f) => f.kind === 'chart').map((f) => f.id)).toEqual(['chart-failures-error-rate', 'chart-failures-records', 'chart-failures-recovery',
      'chart-failures-timeline', 'chart-onboarding']);
    expect(partial.filter((f) => f.kind === 'diagram')).toHaveLength(2);
  });

  it('renders runners that measured nothing, and a run of only one layout, without failing', async () => {
    const empty = sampleReport();
    empty.runners = { connections: { points: [], model: [] }, failures: { downMs: 1, loadOrdersPerS: 1, layouts: [] }, throughput: { ...sampleReport().runners.throughput!, tuning: [], layouts: [] }, onboarding: { layouts: [] } };
    empty.headline = headlineRows(empty.runners);
    empty.topology = { ...empty.topology, systems: [], legacyLinks: [], hubLinks: [] };
    // No measured point, no projection to draw.
    expect(figuresOf(await renderHtml(empty))).toHaveLength(ALL_CHARTS.filter((id) => !id.startsWith('chart-projection-')).length + 2);
    expect(renderMarkdown(empty)).toContain('| connections | declared links | – | – | – | lower | exact | – |');

    const legacyOnly = sampleReport();
    for (const k of ['failures', 'throughput', 'onboarding'] as const) {
      const result = legacyOnly.runners[k]!;
      result.layouts = result.layouts.filter((l) => l.layout === 'legacy') as typeof result.layouts;
    }
    legacyOnly.runners.connections!.points = legacyOnly.runners.connections!.points.filter((p) => p.layout === 'legacy');
    for (const c of legacyOnly.runners.failures!.layouts[0].components) c.killToServiceMs = null;
    legacyOnly.headline = headlineRows(legacyOnly.runners);
    const html = await renderHtml(legacyOnly);
    expect(figuresOf(html).filter((f) => f.kind === 'chart')).toHaveLength(ALL_CHARTS.length);
    expect(html).toContain('Service not back within the observation, so not drawn: A (legacy), B (legacy)');
    expect(renderMarkdown(legacyOnly)).toContain('| failures | records lost | 187 | not measured | – | lower | 1 | – |');
  });

  it('escapes every text from the report (no HTML injection through names, notes, settings or diagrams)', async () => {
    const hostile = await renderHtml(hostileReport());
    expect(externalReferences(hostile)).toEqual([]);
    expect(hostile).not.toMatch(/<script|<img|onerror="/i);
    expect(hostile).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(figuresOf(hostile)).toHaveLength(ALL_CHARTS.length + 2);
  });
});

describe('the failures section compares like with like', () => {
  const md = renderMarkdown(sampleReport());

  it('lists the practices each layout ran with, the best practices marked', () => {
    expect(md).toContain('| layout | outbox | peers | formats | delivery |');
    expect(md).toContain('| legacy | memory | fixed | declared | at-least-once |');
    expect(md).toContain('| hub | memory | fixed | declared | idempotent (best practice) |');
  });

  it('compares legacy and hub over the components both failed, the lake sink left out, with the losses by cause', () => {
    expect(md).toContain('legacy against hub (one RabbitMQ node against one broker): compared over the components both failed: A, B, C, D, E, messaging node (rabbitmq; broker).');
    expect(md).toContain('| components compared | 6: A, B, C, D, E, rabbitmq | 6: A, B, C, D, E, broker |');
    expect(md).toContain('| records lost by cause | 43 buffer lost at kill, 4 in-flight call, 140 RabbitMQ | none |');
    expect(md).toContain('| service not back within the observation | 1: rabbitmq | 0: none |');
    expect(md).toContain('legacy-ha against hub-cluster (a 3-node RabbitMQ cluster with quorum queues against 3 replicating brokers): neither was measured in this run.');
  });

  it('shows a component not failed in a layout as not tested, and one that layout does not have as not applicable', () => {
    expect(md).toContain('| component | legacy | hub |');
    expect(md).toContain('| lake sink | not applicable | lake-sink: not a single point of failure |');
    const r = sampleReport();
    r.runners.failures!.layouts[1].components = r.runners.failures!.layouts[1].components.filter((c) => c.component !== 'D');
    expect(renderMarkdown(r)).toContain('| D | D: not a single point of failure | not tested |');
  });

  it('defines every figure in the glossary', () => {
    expect(md).toContain('## Glossary');
    for (const term of ['kill → ready', 'kill → service', 'longest ingress outage', 'buffer lost at kill', 'in-flight call', 'not tested, not applicable, not measured']) {
      expect(md).toContain(`| ${term} |`);
    }
    expect(md).toMatch(/\| kill → service \| From the kill until the service worked again, in 100 ms steps/);
  });
});

describe('a report made before the loss causes, kill → service and the HA pairs', async () => {
  const r = earlierStyleReport();
  const md = renderMarkdown(r);
  const html = await renderHtml(r);

  it('validates, and renders what it lacks as not measured or not recorded', () => {
    const checked = validateReport(JSON.parse(JSON.stringify(r)));
    expect(checked.ok ? [] : checked.errors).toEqual([]);
    expect(md).toContain('| legacy | not recorded | not recorded | not recorded | not recorded |');
    expect(md).toContain('| rabbitmq | rabbitmq | 5,000 ms | not measured | not measured | 5 / 250 | 2 % | 1,200 ms |');
    expect(md).toContain('| rabbitmq | 140 / 6,965 | not measured | 3 | 0 |');
    expect(md).toContain('| records lost by cause | not measured | not measured |');
    expect(md).toContain('| failures | single points of failure (components) | not measured | 0 | – | lower | exact | – |');
    expect(html).toContain('kill → service not measured (an older report)');
    expect(html).toContain('Not measured (an older report): A (legacy)');
  });
});

describe('a report with the failures runner\'s legacy-ha and hub-cluster layouts', async () => {
  const r = sampleReportWithCluster();
  const md = renderMarkdown(r);
  const html = await renderHtml(r);

  it('validates against the schema', () => {
    const checked = validateReport(JSON.parse(JSON.stringify(r)));
    expect(checked.ok ? [] : checked.errors).toEqual([]);
  });

  it('states both comparison pairs in the headline, each over the same components', () => {
    expect(md).toContain('**legacy against hub (one RabbitMQ node against one broker)**\n\n| runner | metric | legacy | hub | hub/legacy | better | runs | verdict |');
    expect(md).toContain('**legacy-ha against hub-cluster (a 3-node RabbitMQ cluster with quorum queues against 3 replicating brokers): failures only**\n\n'
      + '| runner | metric | legacy-ha | hub-cluster | hub-cluster/legacy-ha | better | runs | verdict |');
    expect(md).toContain('| failures | single points of failure in the integration (components) | 1 | 0 | 0× | lower | exact | lower by 100 % (better) |\n');
    expect(md).toContain('| failures | records duplicated | 12 | 3 | 0.25× | lower | 1 | one run: no interval |\n');
    expect(md).toContain('| failures | longest ingress outage (ms) | 3,600 | 4,600 | 1.28× | lower | 1 | one run: no interval |\n');
    expect(md).toContain('legacy-ha against hub-cluster (a 3-node RabbitMQ cluster with quorum queues against 3 replicating brokers): compared over the components both failed: '
      + 'messaging node (rabbitmq-1, rabbitmq-2, rabbitmq-3; broker-1, broker-2, broker-3), quorum leader (quorum-leader (rabbitmq-1); quorum-leader (broker-2)).');
    expect(md).toContain('| connections | declared links | 24 | 10 | 0.417× | lower |');
  });

  it('compares the HA pair in the failures section, and shows legacy-ha\'s A as not tested in hub-cluster', () => {
    expect(md).toContain('| measure | legacy-ha | hub-cluster |');
    expect(md).toContain('| single points of failure | 1: rabbitmq-2 | 0: none |');
    expect(md).toContain('| A | A: single point of failure | A: single point of failure | A: single point of failure | not tested |');
    expect(md).toContain('| messaging node | rabbitmq: single point of failure | rabbitmq-1, rabbitmq-2, rabbitmq-3: 1 of 3 single points of failure | broker: single point of failure '
      + '| broker-1, broker-2, broker-3: 0 of 3 single points of failure |');
    expect(md).toContain('| quorum leader | not applicable | quorum-leader (rabbitmq-1): not a single point of failure | not applicable |');
    expect(md).toContain('| legacy-ha | durable (best practice) | reload (best practice) | json (best practice) | idempotent (best practice) |');
    expect(md).toContain('hub-cluster is the hub on 3 brokers, 3 of them also controller quorum voters; the run\'s topics had replication factor 3 '
      + 'and min.insync.replicas 2, and the producers used acks=all (-1). The controller fenced a broker 2,000 ms after its last heartbeat');
  });

  it('gives each cluster fault the time until the replicas were back in sync and led by their preferred replica', () => {
    expect(md).toContain('| component | kind | kill → ready | kill → service | longest ingress outage | ingress failed / sent while down | error rate '
      + '| replicas in sync after ready | leaders back after ready |\n');
    expect(md).toContain('| quorum-leader (broker-2) | quorum-leader | 5,000 ms | 4,300 ms | 4,200 ms | 5 / 250 | 2 % | 1,400 ms | 2,100 ms |\n');
    expect(md).toContain('Every 1,000 ms it moved leadership back to each partition\'s preferred replica once that replica was in sync again.');
    expect(md).toContain('| broker-2 | no | yes | A | yes | the cluster: broker-2 not reached by the active controller from 0.1 s ⇒ broker-2 |');
  });

  it('draws the HA layouts in the failures charts only, nodes of a role side by side, and stays self-contained', () => {
    const figures = figuresOf(html);
    expect(externalReferences(html)).toEqual([]);
    expect(figures.filter((f) => f.kind === 'chart').map((f) => f.id)).toEqual(ALL_CHARTS);
    for (const id of ['chart-failures-error-rate', 'chart-failures-recovery', 'chart-failures-timeline']) {
      const body = figures.find((f) => f.id === id)!.body;
      expect(body, id).toContain('>hub-cluster</text>');
      expect(body, id).toContain('>legacy-ha</text>');
      expect(body, id).toContain('>messaging node 2</text>');
    }
    expect(figures.find((f) => f.id === 'chart-throughput-latency')!.body).not.toContain('hub-cluster');
  });

  it('renders the same bytes every time, the figure files too', async () => {
    expect(renderMarkdown(sampleReportWithCluster())).toBe(md);
    expect(await renderHtml(sampleReportWithCluster())).toBe(html);
    const files = async (): Promise<[string, string][]> => [...(await renderFigures(sampleReportWithCluster())).values()].flat()
      .map((f) => [figureFile(f), standaloneSvg(f)]);
    const first = await files();
    expect(first.length).toBeGreaterThanOrEqual(ALL_CHARTS.length + 2);
    expect(await files()).toEqual(first);
    expect(renderMarkdown(sampleReportWithCluster(), await renderFigures(sampleReportWithCluster()))).toBe(renderMarkdown(r, await renderFigures(r)));
  });
});
