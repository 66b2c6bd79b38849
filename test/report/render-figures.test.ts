// The report's presentation: report.md links the same figures report.html shows inline (as standalone
// SVG files), the code blocks, the tables' column labels for the stacked (card) layout, the charts'
// axis titles, and the topology diagrams drawn the way the data goes.
import { describe, expect, it } from 'vitest';
import { hubDot, hubLinkDirection, legacyDot, renderDiagrams } from '../../report/diagrams.ts';
import { figureFile } from '../../report/document-model.ts';
import { renderFigures, standaloneSvg } from '../../report/figures.ts';
import { reportCss, tableClass, tableStackCh } from '../../report/html-style.ts';
import type { Report } from '../../report/model.ts';
import { renderHtml } from '../../report/render-html.ts';
import { fencedBlock, renderMarkdown } from '../../report/render-md.ts';
import { sampleReport } from './fixture.ts';
import { externalReferences, figuresOf } from './html-checks.ts';

describe('report.md with its figures', async () => {
  const report = sampleReport();
  const figures = await renderFigures(report);
  const md = renderMarkdown(report, figures);
  const html = await renderHtml(report, figures);
  const all = [...figures.values()].flat();

  it('links every figure report.html shows, in the same order, each with its caption under it', () => {
    const linked = [...md.matchAll(/!\[[^\n]*?\]\((figures\/[a-z0-9-]+\.svg)\)/g)].map((m) => m[1]);
    const shown = figuresOf(html).map((f) => `figures/${f.id}.svg`);
    expect(shown.length).toBeGreaterThanOrEqual(13);
    expect(linked).toEqual(shown);
    const bytes = all.find((f) => f.id === 'chart-throughput-bytes')!;
    expect(md).toContain(`](figures/chart-throughput-bytes.svg)\n\n*${bytes.caption}*\n`);
    expect(md).not.toContain('are in report.html');
    // Without the figures (a caller that did not render them) it points to report.html, as before.
    expect(renderMarkdown(report)).toContain('_Charts of these numbers are in report.html._');
  });

  it('makes every figure a standalone SVG file a forge can show: namespace, size, viewBox, nothing to fetch', () => {
    for (const f of all) {
      const svg = standaloneSvg(f);
      expect(figureFile(f)).toBe(`figures/${f.id}.svg`);
      expect(svg.startsWith('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<svg'), f.id).toBe(true);
      const open = /<svg\b[^>]*>/.exec(svg)![0];
      for (const attribute of ['xmlns="http://www.w3.org/2000/svg"', 'width="', 'height="', 'viewBox="']) expect(open, f.id).toContain(attribute);
      expect(externalReferences(svg), f.id).toEqual([]);
      expect(svg.endsWith('</svg>\n'), f.id).toBe(true);
    }
    expect(() => standaloneSvg({ kind: 'chart', id: 'x', caption: 'x', svg: '<svg width="1" height="1"></svg>' })).toThrow('x: the SVG lacks xmlns');
  });

  it('escapes a caption for the alt text and the caption line', async () => {
    const r = sampleReport();
    r.topology.name = 'a]b*c';
    const hostile = renderMarkdown(r, new Map([['topology', [{ id: 'diagram-legacy', caption: 'links ] [x](y) *bold* <b>' }]]]));
    expect(hostile).toContain('![links \\] \\[x\\](y) \\*bold\\* &lt;b&gt;](figures/diagram-legacy.svg)\n\n*links \\] \\[x\\](y) \\*bold\\* &lt;b&gt;*');
  });
});

describe('code blocks (the files as run)', () => {
  const text = 'name: shop\nnote: "a ``` fence and ```` four, <b>bold</b> & more"\nlong: ' + 'x'.repeat(300) + '\n';

  it('fences the text with more backticks than any run inside it', () => {
    expect(fencedBlock('a: 1\n')).toBe('```\na: 1\n```');
    expect(fencedBlock('a: `x`')).toBe('```\na: `x`\n```');
    expect(fencedBlock(text)).toBe(`\`\`\`\`\`\n${text}\`\`\`\`\``);
    expect(fencedBlock('')).toBe('```\n```');
  });

  it('shows the text as it is in report.md and, escaped and wrapping, in report.html', async () => {
    const r: Report = sampleReport();
    r.scenario.text = text;
    expect(renderMarkdown(r)).toContain(`**The scenario file as run (scenarios/shop.yaml)**\n\n\`\`\`\`\`\n${text}\`\`\`\`\`\n`);
    const html = await renderHtml(r);
    expect(html).toContain('<figure class="code"><figcaption>The scenario file as run (scenarios/shop.yaml)</figcaption><pre><code>name: shop\n'
      + 'note: &quot;a ``` fence and ```` four, &lt;b&gt;bold&lt;/b&gt; &amp; more&quot;\n');
    expect(html).toMatch(/pre \{[^}]*white-space: pre-wrap; overflow-wrap: anywhere;/);
  });
});

describe('tables for every width', async () => {
  const html = await renderHtml(sampleReport());

  it('labels every cell with its column, for the stacked layout', () => {
    const tables = [...html.matchAll(/<table id="([^"]+)">[\s\S]*?<thead><tr>([\s\S]*?)<\/tr><\/thead><tbody>([\s\S]*?)<\/tbody>/g)];
    expect(tables.length).toBeGreaterThan(30);
    for (const [, id, head, body] of tables) {
      const labels = [...head.matchAll(/<th[^>]*>([^<]*)<\/th>/g)].map((m) => m[1]);
      for (const row of body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)) {
        const cells = [...row[1].matchAll(/<td([^>]*)>/g)].map((m) => /data-label="([^"]*)"/.exec(m[1])?.[1]);
        if (cells.length === 1 && labels.length > 1) continue; // "none"
        expect(cells, id).toEqual(labels);
      }
    }
  });

  it('gives every table the width below which it is stacked, wider for more and longer text, each with its rule', () => {
    const wraps = [...html.matchAll(/<div class="table-wrap fit-(\d+)">/g)].map((m) => Number(m[1]));
    const twoColumns = [...html.matchAll(/<div class="table-wrap no-stack( whole-keys)?">/g)].length;
    expect(twoColumns).toBeGreaterThan(5);
    expect(wraps.length + twoColumns).toBe([...html.matchAll(/<table id=/g)].length);
    for (const w of new Set(wraps)) {
      expect(w % 4).toBe(0);
      expect(w).toBeGreaterThanOrEqual(40);
      expect(html).toContain(`@container (max-width: ${w}ch) {\n.fit-${w} table, `);
    }
    expect(html.match(/@container \(max-width: \d+ch\)/g)).toHaveLength(new Set(wraps).size);
    const small = { id: 't', caption: 'c', columns: [{ label: 'a', align: 'left' as const }, { label: 'b', align: 'right' as const }, { label: 'c', align: 'left' as const }],
      rows: [['x', '1', 'y']] };
    expect(tableStackCh(small)).toBe(40);
    expect(tableStackCh({ ...small, columns: small.columns.slice(0, 2), rows: [['x'.repeat(90), '1']] })).toBeNull();
    expect(tableClass({ ...small, columns: small.columns.slice(0, 2), rows: [['x'.repeat(90), '1']] })).toBe('no-stack');
    expect(tableClass({ ...small, columns: small.columns.slice(0, 2), rows: [['throughput.costRatePerS', '40']] })).toBe('no-stack whole-keys');
    expect(tableClass(small)).toBe('fit-40');
    const many = { ...small, columns: Array.from({ length: 5 }, (_, i) => ({ label: `column ${i}`, align: 'left' as const })), rows: [['a', 'b', 'c', 'd', 'e']] };
    expect(tableStackCh(many)).toBe(60);
    // A word is never broken in a table: a long id asks for its whole length.
    expect(tableStackCh({ ...small, rows: [['x'.repeat(90), '1', 'y']] })).toBe(100);
    expect(tableStackCh({ ...small, rows: [['word '.repeat(90), '1', 'y']] })).toBe(40);
    expect(reportCss([96, null, 40, 96])).toMatch(/@container \(max-width: 40ch\)[\s\S]*@container \(max-width: 96ch\) \{\n\.fit-96 table/);
    expect(reportCss([96, null, 40, 96]).match(/@container/g)).toHaveLength(2);
  });
});

describe('the charts', async () => {
  const figures = figuresOf(await renderHtml(sampleReport()));
  const charts = figures.filter((f) => f.kind === 'chart');

  it('title every axis of every chart', () => {
    expect(charts.length).toBeGreaterThanOrEqual(11);
    for (const c of charts) {
      const axes = [...c.body.matchAll(/aria-label="([XY])-axis ([^"]*)"/g)];
      expect(axes.map((a) => a[1]), c.id).toContain('X');
      expect(axes.map((a) => a[1]), c.id).toContain('Y');
      for (const a of axes) expect(a[2], c.id).toMatch(/^titled '[^']+'/);
      expect(c.body, c.id).toMatch(/role-axis-title[^>]*><text[^>]*>[^<]+<\/text>/);
    }
  });

  it('draws the end-to-end latency, the bytes and the sustained rate per layout with every run, and the records lost and duplicated', () => {
    const body = (id: string): string => charts.find((c) => c.id === id)!.body;
    for (const m of ['ingress p50', 'ingress p99', 'to systems p50', 'to systems p99', 'to lake p50', 'to lake p99']) expect(body('chart-throughput-end-to-end')).toContain(`>${m}</text>`);
    expect(body('chart-throughput-end-to-end')).toContain('>ms from the intended send time (log scale)</text>');
    expect(body('chart-throughput-bytes')).toContain('>to sockets and pipes</text>');
    expect(body('chart-throughput-bytes')).toContain('>bytes per order at 40 orders/s</text>');
    expect(body('chart-throughput-sustained')).toContain('>highest sustained rate (orders/s)</text>');
    // Three runs of each of two layouts: six circles.
    const circles = /<g class="mark-symbol role-mark[^>]*>([\s\S]*?)<\/g>/.exec(body('chart-throughput-sustained'))![1];
    expect(circles.match(/aria-label="highest sustained rate \(orders\/s\): \d+; layout: (legacy|hub)"/g)).toHaveLength(6);
    expect(body('chart-failures-records')).toContain('>records duplicated</text>');
    expect(body('chart-failures-records')).toContain('>records lost</text>');
  });
});

describe('the topology diagrams draw the data the way it goes', () => {
  it('draws hub links by their recorded direction, and the lake sink writing the lake', () => {
    const t = sampleReport().topology;
    const dir = { A: 'from-to', H: 'to-from', lake: 'to-from' } as const;
    for (const l of t.hubLinks) l.direction = dir[l.from as keyof typeof dir] ?? 'both';
    const dot = hubDot(t);
    expect(dot).toContain('"A" -> "hub" [label="kafka/json"];');
    expect(dot).toContain('"hub" -> "H" [label="kafka/json"];');
    expect(dot).toContain('"B" -> "hub" [label="kafka/json", dir=both];');
    expect(dot).toContain('"hub" -> "lake" [label="kafka/json"];');
    expect(dot).toContain('"lake" -> "lake files" [label="files"');
    expect(dot).toContain('"lake" [label="lake sink", shape=box');
    expect(dot).toContain('"lake files" [label="lake", shape=cylinder');
  });

  it('infers the directions of an older report from its legacy links', async () => {
    const t = sampleReport().topology;
    expect(t.hubLinks.every((l) => l.direction === undefined)).toBe(true);
    const of = (id: string): string => hubLinkDirection(t, t.hubLinks.find((l) => l.from === id)!);
    // A only sends; B receives orders and sends payments; the lake sink reads.
    expect([of('A'), of('B'), of('H'), of('lake')]).toEqual(['from-to', 'both', 'both', 'to-from']);
    // A system that only receives (no lake export, nothing of its own on the hub) consumes.
    t.legacyLinks = t.legacyLinks.filter((l) => l.id !== 'G-lake-export');
    t.hubLinks.find((l) => l.from === 'G')!.data = ['order'];
    expect(of('G')).toBe('to-from');
    expect(hubDot(t)).toContain('"hub" -> "G" [label="kafka/json"];');
    const [, hub] = await renderDiagrams(t);
    expect(hub.caption).toContain('inferred from the legacy links');
  });

  it('draws a legacy link from sender to receiver, a polled one dashed and marked with who polls', async () => {
    const t = sampleReport().topology;
    for (const l of t.legacyLinks) if (l.id === 'b-f-payments' || l.id === 'c-g-stock') l.protocol = 'rest-poll';
    const dot = legacyDot(t);
    expect(dot).toContain('"B" -> "F" [label="rest-poll/json (F polls)", style=dashed];');
    expect(dot).toContain('"A" -> "B" [label="http/json"];');
    expect(dot).toContain('"A" -> "lake" [label="file/json"];');
    const [legacy] = await renderDiagrams(t);
    expect(legacy.caption).toContain('the 2 dashed ones are polled: the receiver pulls the data from the sender.');
    expect(legacy.svg).toContain('>rest&#45;poll/json (F polls)</text>');
  });
});
