/**
 * The two layouts derived from one topology: legacy (every flow its own point-to-point link, every
 * system its own lake export) and hub (one topic per data kind, every system linked only to the hub,
 * one lake sink), plus the counts the connections scenario reports for both.
 */
import type { DataFormat, DataKindId, LakeFileFormat, LakePartitionKey, LegacyTransport, SystemId, Topology } from './model.ts';

export type LayoutName = 'legacy' | 'hub';
/** The lake folder as a link endpoint. */
export const LAKE = 'lake';
/** The hub (the broker cluster) as a link endpoint. */
export const HUB = 'hub';

export interface LegacyLink {
  /** The flow id, or `<system>-lake-export` for a lake export. */
  readonly id: string;
  readonly kind: 'flow' | 'lake-export';
  readonly from: SystemId;
  readonly to: SystemId | typeof LAKE;
  readonly transport: LegacyTransport;
  readonly format: DataFormat;
  /** The data kinds carried: one for a flow; the system's own kinds for a lake export. */
  readonly data: readonly DataKindId[];
  readonly scheduleMs?: number;
}

export interface LegacyLayout {
  readonly links: readonly LegacyLink[];
  /** Distinct unordered endpoint pairs joined by at least one link, lake included, sorted. */
  readonly pairs: readonly (readonly [string, string])[];
  /** Distinct unordered pairs of systems joined by at least one flow (lake excluded). */
  readonly systemPairCount: number;
}

export interface HubTopic {
  readonly name: string;
  readonly dataKind: DataKindId;
  /** The record field used as the message key. */
  readonly key: string;
  readonly producers: readonly SystemId[];
}

export interface HubSystemWiring {
  readonly systemId: SystemId;
  /** Topics this system writes (its own data kinds). */
  readonly produces: readonly string[];
  /** The consumer group id; a system that subscribes to nothing starts no consumer. */
  readonly groupId: string;
  /** Topics of the data kinds that flow to this system in the legacy layout. */
  readonly subscribes: readonly string[];
}

export interface HubLink {
  readonly from: SystemId | typeof LAKE;
  readonly to: typeof HUB;
  readonly protocol: 'kafka';
  readonly format: 'json';
}

export interface HubLayout {
  readonly topicPrefix: string;
  readonly topics: readonly HubTopic[];
  readonly systems: readonly HubSystemWiring[];
  readonly lakeSink: {
    readonly groupId: string;
    readonly subscribes: readonly string[];
    readonly format: LakeFileFormat;
    readonly partitionBy: readonly LakePartitionKey[];
  };
  readonly links: readonly HubLink[];
}

const uniqueSorted = <T extends string>(values: Iterable<T>): T[] => [...new Set(values)].sort();

export function legacyLinks(t: Topology): LegacyLayout {
  const links: LegacyLink[] = t.flows.map((f) => ({
    id: f.id,
    kind: 'flow',
    from: f.from,
    to: f.to,
    transport: f.legacy.transport,
    format: f.legacy.format,
    data: [f.data],
    ...(f.legacy.scheduleMs !== undefined ? { scheduleMs: f.legacy.scheduleMs } : {}),
  }));
  for (const s of t.systems) {
    if (!s.lakeExport) continue;
    links.push({ id: `${s.id}-lake-export`, kind: 'lake-export', from: s.id, to: LAKE, transport: 'batch',
      format: s.lakeExport.format, data: [...s.produces], scheduleMs: s.lakeExport.scheduleMs });
  }
  const pairKeys = new Map<string, readonly [string, string]>();
  for (const l of links) {
    const pair = [l.from, l.to].sort() as [string, string];
    pairKeys.set(pair.join('\u0000'), pair);
  }
  const pairs = [...pairKeys.values()].sort((a, b) => a[0].localeCompare(b[0]) || a[1].localeCompare(b[1]));
  return { links, pairs, systemPairCount: pairs.filter((p) => !p.includes(LAKE)).length };
}

export function topicName(prefix: string, kind: DataKindId): string {
  return `${prefix}${kind}s`;
}

export function hubLayout(t: Topology, opts: { topicPrefix?: string } = {}): HubLayout {
  const prefix = opts.topicPrefix ?? `${t.name}.`;
  // One topic per kind some system of this landscape produces (a sub-landscape may drop a kind's makers).
  const topics: HubTopic[] = t.dataKinds.filter((k) => t.systems.some((s) => s.produces.includes(k.id))).map((k) => ({
    name: topicName(prefix, k.id),
    dataKind: k.id,
    key: k.key,
    producers: t.systems.filter((s) => s.produces.includes(k.id)).map((s) => s.id),
  }));
  const systems: HubSystemWiring[] = t.systems.map((s) => ({
    systemId: s.id,
    produces: s.produces.map((k) => topicName(prefix, k)),
    groupId: `${prefix}system-${s.id}`,
    subscribes: uniqueSorted(t.flows.filter((f) => f.to === s.id).map((f) => topicName(prefix, f.data))),
  }));
  const links: HubLink[] = systems
    .filter((s) => s.produces.length > 0 || s.subscribes.length > 0)
    .map((s) => ({ from: s.systemId, to: HUB, protocol: 'kafka', format: 'json' }));
  links.push({ from: LAKE, to: HUB, protocol: 'kafka', format: 'json' });
  return {
    topicPrefix: prefix,
    topics,
    systems,
    lakeSink: {
      groupId: `${prefix}lake-sink`,
      subscribes: topics.map((tp) => tp.name),
      format: t.lake.hub.format,
      partitionBy: t.lake.hub.partitionBy,
    },
    links,
  };
}

export type Protocol = 'http' | 'amqp' | 'file' | 'kafka';
export type AdapterTransport = LegacyTransport | 'kafka';

export function protocolOf(transport: AdapterTransport): Protocol {
  switch (transport) {
    case 'rest-sync':
    case 'rest-poll':
      return 'http';
    case 'amqp':
      return 'amqp';
    case 'batch':
      return 'file';
    case 'kafka':
      return 'kafka';
  }
}

export interface ProtocolsAndFormats {
  /** Protocols on the layout's links (lake exports are files in the legacy layout). */
  readonly protocols: readonly Protocol[];
  /** Payload formats on the layout's links. */
  readonly formats: readonly string[];
  /** Formats of the files that land in the lake folder. */
  readonly lakeFileFormats: readonly string[];
}

export function protocolsAndFormats(t: Topology, layout: LayoutName): ProtocolsAndFormats {
  if (layout === 'hub') {
    return { protocols: ['kafka'], formats: ['json'], lakeFileFormats: [t.lake.hub.format] };
  }
  const links = legacyLinks(t).links;
  return {
    protocols: uniqueSorted(links.map((l) => protocolOf(l.transport))),
    formats: uniqueSorted(links.map((l) => l.format)),
    lakeFileFormats: uniqueSorted(links.filter((l) => l.kind === 'lake-export').map((l) => l.format)),
  };
}

export interface SystemAdapters {
  readonly systemId: SystemId;
  /** The number of distinct (transport, format) pairs the system must speak. */
  readonly adapters: number;
  readonly speaks: readonly { readonly transport: AdapterTransport; readonly format: string }[];
}

export function adaptersPerSystem(t: Topology, layout: LayoutName): SystemAdapters[] {
  if (layout === 'hub') {
    const wired = new Set(hubLayout(t).links.map((l) => l.from));
    return t.systems.map((s) => {
      const speaks = wired.has(s.id) ? [{ transport: 'kafka' as const, format: 'json' }] : [];
      return { systemId: s.id, adapters: speaks.length, speaks };
    });
  }
  const links = legacyLinks(t).links;
  return t.systems.map((s) => {
    const pairs = new Map<string, { transport: AdapterTransport; format: string }>();
    for (const l of links) {
      if (l.from === s.id || l.to === s.id) pairs.set(`${l.transport}/${l.format}`, { transport: l.transport, format: l.format });
    }
    const speaks = [...pairs.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, v]) => v);
    return { systemId: s.id, adapters: speaks.length, speaks };
  });
}
