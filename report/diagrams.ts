/**
 * The two topology diagrams, laid out by Graphviz (@hpcc-js/wasm-graphviz, WebAssembly, no network):
 * legacy, one edge per point-to-point link labelled protocol/format; hub, every system and the lake
 * sink linked to one hub node.
 */
import { Graphviz } from '@hpcc-js/wasm-graphviz';
import type { Report, ReportLink } from './model.ts';
import { inlineSvg } from './svg.ts';

export interface Diagram { id: string; caption: string; svg: string }

const LAKE = 'lake';
const HUB = 'hub';
const FONT = 'Helvetica,Arial,sans-serif';

/** Text for inside a DOT double-quoted string: backslashes (which start Graphviz escapes like \n) and quotes escaped. */
function dotEscape(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n|\r/g, ' ');
}

/** A DOT double-quoted string holding `text` literally. */
export function dotString(text: string): string {
  return `"${dotEscape(text)}"`;
}

type Topology = Report['topology'];

function systemNodes(t: Topology): string[] {
  return t.systems.map((s) => `  ${dotString(s.id)} [label="${dotEscape(s.id)}\\n${dotEscape(s.name)}", shape=box, style="rounded,filled", fillcolor="${s.role === 'ingress' ? '#fde2c8' : '#eef2f7'}"];`);
}

/** Endpoints a link names that are not systems of the topology (the lake, the hub, anything else). */
function extraNodes(t: Topology, links: readonly ReportLink[], known: ReadonlySet<string>): string[] {
  const ids = new Set(t.systems.map((s) => s.id));
  const extra = [...new Set(links.flatMap((l) => [l.from, l.to]))].filter((e) => !ids.has(e) && !known.has(e));
  return extra.map((e) => `  ${dotString(e)} [shape=box];`);
}

export function legacyDot(t: Topology): string {
  return [
    'digraph legacy {',
    `  graph [rankdir=LR, nodesep=0.35, ranksep=0.9, fontname="${FONT}", bgcolor="white", pad=0.2];`,
    `  node [fontname="${FONT}", fontsize=11];`,
    `  edge [fontname="${FONT}", fontsize=9, color="#8a6d3b", fontcolor="#5b4a2a"];`,
    ...systemNodes(t),
    `  ${dotString(LAKE)} [label="lake", shape=cylinder, style=filled, fillcolor="#e3f1e3"];`,
    ...extraNodes(t, t.legacyLinks, new Set([LAKE])),
    ...t.legacyLinks.map((l) => `  ${dotString(l.from)} -> ${dotString(l.to)} [label=${dotString(`${l.protocol}/${l.format}`)}];`),
    '}',
  ].join('\n');
}

export function hubDot(t: Topology): string {
  return [
    'digraph hub {',
    `  graph [root=${dotString(HUB)}, overlap=false, ranksep=1.6, fontname="${FONT}", bgcolor="white", pad=0.2];`,
    `  node [fontname="${FONT}", fontsize=11];`,
    `  edge [fontname="${FONT}", fontsize=9, color="#2f5d8a", fontcolor="#2f4a66", dir=both, arrowtail=none];`,
    `  ${dotString(HUB)} [label="hub", shape=doublecircle, style=filled, fillcolor="#cfe0f3"];`,
    ...systemNodes(t),
    `  ${dotString(LAKE)} [label="lake sink", shape=cylinder, style=filled, fillcolor="#e3f1e3"];`,
    ...extraNodes(t, t.hubLinks, new Set([LAKE, HUB])),
    ...t.hubLinks.map((l) => `  ${dotString(l.from)} -> ${dotString(l.to)} [label=${dotString(`${l.protocol}/${l.format}`)}];`),
    '}',
  ].join('\n');
}

let graphviz: Promise<Graphviz> | null = null;

export async function renderDiagrams(t: Topology): Promise<Diagram[]> {
  graphviz ??= Graphviz.load();
  const gv = await graphviz;
  return [
    {
      id: 'diagram-legacy',
      caption: `Legacy layout: ${t.legacyLinks.length} point-to-point links between ${t.systems.length} systems and the lake, each labelled protocol/format.`,
      svg: inlineSvg(gv.layout(legacyDot(t), 'svg', 'dot'), 'diagram-legacy', 'the legacy diagram'),
    },
    {
      id: 'diagram-hub',
      caption: `Hub layout: ${t.hubLinks.length} links, every system and the lake sink to the hub, each labelled protocol/format.`,
      svg: inlineSvg(gv.layout(hubDot(t), 'svg', 'twopi'), 'diagram-hub', 'the hub diagram'),
    },
  ];
}
