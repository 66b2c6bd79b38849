/**
 * The two topology diagrams, laid out by Graphviz (@hpcc-js/wasm-graphviz, WebAssembly, no network),
 * every arrow pointing the way the data goes: legacy, one edge per point-to-point link from the system
 * that sends to the one that receives, labelled protocol/format (a polled link dashed and marked, as
 * its receiver pulls); hub, every publishing system into the hub, the hub out to every consuming
 * system (both ways for a system that does both), and the hub to the lake sink, which writes the lake.
 */
import { Graphviz } from '@hpcc-js/wasm-graphviz';
import type { LinkDirection, Report, ReportLink } from './model.ts';
import { inlineSvg } from './svg.ts';

export interface Diagram { id: string; caption: string; svg: string }

const LAKE = 'lake';
const HUB = 'hub';
const FONT = 'Helvetica,Arial,sans-serif';
/** The legacy transport whose receiver pulls the data from the sender (topology Flow: `from` is the system polled). */
const POLLED = 'rest-poll';

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

/** An edge drawn the way the data goes: from → to, reversed for to → from, arrows at both ends for both. */
function dataEdge(l: ReportLink, direction: LinkDirection, attributes: string[]): string {
  const [tail, head] = direction === 'to-from' ? [l.to, l.from] : [l.from, l.to];
  const attrs = [...attributes, ...(direction === 'both' ? ['dir=both'] : [])];
  return `  ${dotString(tail)} -> ${dotString(head)} [${attrs.join(', ')}];`;
}

/**
 * Which way a hub link's data goes. Recorded in newer reports; an older report's is inferred from the
 * legacy links of the same topology: a system that sends there (or carries a kind it does not receive
 * there) publishes, one that receives there consumes; the lake sink only consumes.
 */
export function hubLinkDirection(t: Topology, l: ReportLink): LinkDirection {
  if (l.direction !== undefined) return l.direction;
  const system = [l.from, l.to].find((e) => t.systems.some((s) => s.id === e));
  if (system === undefined) return l.from === HUB ? 'from-to' : 'to-from';
  const received = new Set(t.legacyLinks.filter((x) => x.to === system).flatMap((x) => x.data));
  const publishes = t.legacyLinks.some((x) => x.from === system) || l.data.some((k) => !received.has(k));
  const consumes = received.size > 0;
  const systemSends: LinkDirection = publishes && consumes ? 'both' : consumes ? 'to-from' : 'from-to';
  // The direction is of from → to: a link written hub → system has the opposite one.
  if (system === l.from || systemSends === 'both') return systemSends;
  return systemSends === 'from-to' ? 'to-from' : 'from-to';
}

/** A name for a node of our own that no endpoint of the topology uses. */
function freeNodeName(base: string, taken: ReadonlySet<string>): string {
  let name = base;
  while (taken.has(name)) name = `${name}~`;
  return name;
}

export function legacyDot(t: Topology): string {
  const edge = (l: ReportLink): string => {
    const direction = l.direction ?? 'from-to';
    const polled = l.protocol === POLLED;
    const label = `${l.protocol}/${l.format}${polled ? ` (${direction === 'to-from' ? l.from : l.to} polls)` : ''}`;
    return dataEdge(l, direction, [`label=${dotString(label)}`, ...(polled ? ['style=dashed'] : [])]);
  };
  return [
    'digraph legacy {',
    `  graph [rankdir=LR, nodesep=0.35, ranksep=0.9, fontname="${FONT}", bgcolor="white", pad=0.2];`,
    `  node [fontname="${FONT}", fontsize=11];`,
    `  edge [fontname="${FONT}", fontsize=9, color="#8a6d3b", fontcolor="#5b4a2a"];`,
    ...systemNodes(t),
    `  ${dotString(LAKE)} [label="lake", shape=cylinder, style=filled, fillcolor="#e3f1e3"];`,
    ...extraNodes(t, t.legacyLinks, new Set([LAKE])),
    ...t.legacyLinks.map(edge),
    '}',
  ].join('\n');
}

export function hubDot(t: Topology): string {
  // The hub links name the lake sink `lake`; the lake it writes is a node of its own.
  const taken = new Set([...t.systems.map((s) => s.id), ...t.hubLinks.flatMap((l) => [l.from, l.to]), HUB, LAKE]);
  const lakeFiles = freeNodeName('lake files', taken);
  const hasLakeSink = t.hubLinks.some((l) => l.from === LAKE || l.to === LAKE);
  return [
    'digraph hub {',
    `  graph [root=${dotString(HUB)}, overlap=false, ranksep=1.6, fontname="${FONT}", bgcolor="white", pad=0.2];`,
    `  node [fontname="${FONT}", fontsize=11];`,
    `  edge [fontname="${FONT}", fontsize=9, color="#2f5d8a", fontcolor="#2f4a66"];`,
    `  ${dotString(HUB)} [label="hub", shape=doublecircle, style=filled, fillcolor="#cfe0f3"];`,
    ...systemNodes(t),
    `  ${dotString(LAKE)} [label="lake sink", shape=box, style="rounded,filled", fillcolor="#e3f1e3"];`,
    ...(hasLakeSink ? [`  ${dotString(lakeFiles)} [label="lake", shape=cylinder, style=filled, fillcolor="#e3f1e3"];`] : []),
    ...extraNodes(t, t.hubLinks, new Set([LAKE, HUB])),
    ...t.hubLinks.map((l) => dataEdge(l, hubLinkDirection(t, l), [`label=${dotString(`${l.protocol}/${l.format}`)}`])),
    ...(hasLakeSink ? [`  ${dotString(LAKE)} -> ${dotString(lakeFiles)} [label="files", color="#4e8a4e", fontcolor="#3a663a"];`] : []),
    '}',
  ].join('\n');
}

function legacyCaption(t: Topology): string {
  const polled = t.legacyLinks.filter((l) => l.protocol === POLLED).length;
  return `Legacy layout: ${t.legacyLinks.length} point-to-point links between ${t.systems.length} systems and the lake, each labelled protocol/format, `
    + 'every arrow from the system that sends the data to the one that receives it'
    + (polled > 0 ? `; the ${polled} dashed ${polled === 1 ? 'one is' : 'ones are'} polled: the receiver pulls the data from the sender.` : '.');
}

function hubCaption(t: Topology): string {
  const inferred = t.hubLinks.some((l) => l.direction === undefined);
  return `Hub layout: ${t.hubLinks.length} links, each labelled protocol/format, every arrow the way the data goes: into the hub from a system that `
    + 'publishes, out of the hub to a system that consumes (arrows at both ends for a system that does both), and from the hub to the lake sink, '
    + 'which writes the lake.'
    + (inferred ? ' This report did not record the links\' directions: they are inferred from the legacy links (who sends and who receives each kind).' : '');
}

let graphviz: Promise<Graphviz> | null = null;

export async function renderDiagrams(t: Topology): Promise<Diagram[]> {
  graphviz ??= Graphviz.load();
  const gv = await graphviz;
  return [
    {
      id: 'diagram-legacy',
      caption: legacyCaption(t),
      svg: inlineSvg(gv.layout(legacyDot(t), 'svg', 'dot'), 'diagram-legacy', 'the legacy diagram'),
    },
    {
      id: 'diagram-hub',
      caption: hubCaption(t),
      svg: inlineSvg(gv.layout(hubDot(t), 'svg', 'twopi'), 'diagram-hub', 'the hub diagram'),
    },
  ];
}
