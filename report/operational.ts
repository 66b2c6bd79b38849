/**
 * The operational surface of each layout: what a team has to deploy, configure, secure and watch,
 * counted from the report's topology the way the wirings build it (systems/runtime/legacy-flows.ts,
 * systems/legacy/amqp.ts, systems/topology/layouts.ts hubLayout), plus what the runs add: the
 * processes and live connections the connections runner saw, and how many killed components one
 * watched place named in the failures runner. Pure functions of the Report.
 *
 * How the legacy layout is wired: a rest-sync flow is a POST route on the receiver, called by the
 * sender; a rest-poll flow is a feed per data kind on the sender, polled by the receiver; an AMQP
 * flow is a durable queue with a dead-letter exchange and queue on RabbitMQ, each system using AMQP
 * with its own connection; a batch flow drops files into the receiver's inbox folder; every system
 * writes its own lake export files. The hub: one broker, one topic per data kind, one consumer group
 * per system that receives anything, one lake sink (its own group) writing the lake.
 */
import type { Report, ReportLink } from './model.ts';

type Transport = 'rest-sync' | 'rest-poll' | 'rest' | 'amqp' | 'batch' | 'lake-export' | 'other';

/** A legacy link's transport: reports name it (rest-sync, ...); older summaries only the protocol (http: sync or poll unknown; file: batch). */
export function transportOf(l: ReportLink): Transport {
  if (l.to === 'lake') return 'lake-export';
  switch (l.protocol) {
    case 'rest-sync': case 'rest-poll': case 'amqp': case 'batch': return l.protocol;
    case 'http': return 'rest';
    case 'file': return 'batch';
    default: return 'other';
  }
}

export interface OperationalRow {
  item: string;
  legacy: number | null;
  hub: number | null;
  /** How it was counted, in one line. */
  countedAs: string;
  from: 'topology' | 'connections run' | 'failures run';
}

const distinct = (keys: readonly string[]): number => new Set(keys).size;
const key = (...parts: string[]): string => parts.join('\u0000');

interface Wiring {
  systems: string[];
  flows: { l: ReportLink; t: Transport }[];
  exports: ReportLink[];
  of: (t: Transport) => ReportLink[];
  usesRabbit: boolean;
  hasSink: boolean;
  linkedToHub: string[];
  receivers: string[];
  topics: number;
}

function wiringOf(r: Report): Wiring {
  const t = r.topology;
  const flows = t.legacyLinks.filter((l) => l.to !== 'lake').map((l) => ({ l, t: transportOf(l) }));
  const of = (tr: Transport): ReportLink[] => flows.filter((f) => f.t === tr).map((f) => f.l);
  const sink = t.hubLinks.find((l) => l.from === 'lake');
  const systems = t.systems.map((s) => s.id);
  return {
    systems, flows, of,
    exports: t.legacyLinks.filter((l) => l.to === 'lake'),
    usesRabbit: of('amqp').length > 0,
    hasSink: sink !== undefined,
    linkedToHub: t.hubLinks.filter((l) => l.from !== 'lake').map((l) => l.from),
    // hubLayout: a system subscribes to the topics of the kinds that flow to it in the legacy layout.
    receivers: [...new Set(flows.map((f) => f.l.to))].filter((id) => systems.includes(id)),
    topics: sink ? new Set(sink.data).size : distinct(t.hubLinks.flatMap((l) => l.data)),
  };
}

/** Distinct (who, what it reaches) pairs: each needs a credential or grant, and an address or path configured. */
function accessPairs(w: Wiring): { legacy: number; hub: number } {
  const legacy = [
    ...w.of('rest-sync').map((l) => key('http', l.from, l.to)),
    ...w.of('rest-poll').map((l) => key('http', l.to, l.from)),
    ...w.of('rest').map((l) => key('http?', ...[l.from, l.to].sort())),
    ...w.of('amqp').flatMap((l) => [key('amqp', l.from), key('amqp', l.to)]),
    ...w.of('batch').map((l) => key('inbox', l.from, l.to)),
    ...w.of('other').map((l) => key('other', l.from, l.to)),
    ...w.exports.map((l) => key('lake', l.from)),
  ];
  const hub = [...w.linkedToHub.map((s) => key('broker', s)), ...(w.hasSink ? [key('broker', 'lake-sink'), key('lake', 'lake-sink')] : [])];
  return { legacy: distinct(legacy), hub: distinct(hub) };
}

function topologyRows(w: Wiring): OperationalRow[] {
  const n = w.systems.length;
  const rabbit = w.usesRabbit ? 1 : 0;
  const sink = w.hasSink ? 1 : 0;
  const units = { legacy: n + rabbit, hub: n + 1 + sink };
  const feeds = distinct(w.of('rest-poll').map((l) => key(l.from, ...l.data)));
  const unknownRest = w.of('rest').length;
  const access = accessPairs(w);
  const amqp = w.of('amqp').length;
  const inboxes = distinct(w.of('batch').map((l) => l.to));
  const nonAmqpSeenAt = distinct([
    ...w.of('rest-sync').map((l) => l.from), ...w.of('rest-poll').map((l) => l.to), ...w.of('rest').map((l) => l.to),
    ...w.of('batch').map((l) => `inbox ${l.to}`), ...w.of('other').map((l) => l.to),
  ]);
  const amqpReceivers = distinct(w.of('amqp').map((l) => l.to).filter((id) => w.systems.includes(id)));
  const row = (item: string, legacy: number, hub: number, countedAs: string): OperationalRow => ({ item, legacy, hub, countedAs, from: 'topology' });
  return [
    row('deployable units', units.legacy, units.hub, 'one process per system (instances not counted: the report\'s topology does not list them), plus '
      + 'RabbitMQ when a flow uses AMQP (legacy), plus the broker and the lake sink (hub)'),
    row('HTTP endpoints others call', w.of('rest-sync').length + feeds + unknownRest, 0, 'legacy: a POST route per rest-sync flow on its receiver and a feed per '
      + `(sender, data kind) of the rest-poll flows${unknownRest > 0 ? `, one per flow where the report names only "http" (${unknownRest})` : ''}; hub: none `
      + '(the ingress front door, the same in both, left out)'),
    row('shared folders written by another party', inboxes + (w.exports.length > 0 ? 1 : 0), sink, 'legacy: an inbox per system receiving batch files, '
      + 'plus the lake folder its systems export to; hub: the lake folder, written by the lake sink only'),
    row('credentials and addresses to manage', access.legacy, access.hub, 'distinct (client, what it reaches) pairs, each needing a credential and an address: '
      + 'legacy a caller to a route, a poller to a feed, a system to RabbitMQ, a sender to an inbox, a system to the lake folder; hub a system or the lake sink to the broker, the lake sink to the lake folder'),
    row('queues', 2 * amqp, 0, `a durable queue and a dead-letter queue per AMQP flow (${amqp} flows; each also has a dead-letter exchange)`),
    row('topics', 0, w.topics, 'hub: one topic per data kind produced (the kinds the lake sink reads)'),
    row('receivers to run', w.flows.length, w.receivers.length + sink, 'legacy: one per flow (a REST route, a poller, an AMQP consumer or an inbox picker); '
      + 'hub: one consumer group per system that receives anything, plus the lake sink\'s'),
    row('things to monitor', units.legacy + w.flows.length + w.exports.length, units.hub + w.receivers.length + sink, 'every deployable unit, plus '
      + 'legacy: each flow\'s own backlog (queue depth, feed cursor, inbox files, call errors) and each lake export\'s schedule; hub: each consumer group\'s lag'),
    row('places a failure can show up', rabbit + nonAmqpSeenAt + (w.exports.length > 0 ? 1 : 0), 1, 'legacy: RabbitMQ\'s queue stats for every AMQP '
      + 'flow, each caller or poller that sees its REST calls fail, each inbox where files pile up, and the lake folder; hub: the broker\'s metrics (every '
      + 'group\'s lag). In both, a system that only sends shows only as records that stop coming'),
    row('components one watched place can name', amqpReceivers + rabbit, w.receivers.length + sink + 1, 'by the wiring: legacy RabbitMQ and the systems '
      + 'receiving over AMQP (a consumer gone from its queue); hub the broker, and every system with a consumer group and the lake sink (lag growing)'),
  ];
}

function runRows(r: Report): OperationalRow[] {
  const rows: OperationalRow[] = [];
  const c = r.runners.connections;
  if (c && c.points.length > 0) {
    const at = (layout: 'legacy' | 'hub'): ReportPoint | undefined => c.points.filter((p) => p.layout === layout).sort((a, b) => b.n - a.n)[0];
    const legacy = at('legacy');
    const hub = at('hub');
    const ns = [...new Set([legacy?.n, hub?.n].filter((n) => n !== undefined))].join(' and ');
    const get = (p: ReportPoint | undefined, f: (p: ReportPoint) => number): number | null => (p ? f(p) : null);
    rows.push(
      { item: 'processes seen', legacy: get(legacy, (p) => p.liveTcpPerProcess.length), hub: get(hub, (p) => p.liveTcpPerProcess.length),
        countedAs: `the processes whose sockets were counted at the largest n measured (n = ${ns}), the servers included`, from: 'connections run' },
      { item: 'live TCP connections', legacy: get(legacy, (p) => p.liveTcpTotal), hub: get(hub, (p) => p.liveTcpTotal),
        countedAs: `ESTABLISHED connections between the landscape's processes at n = ${ns}, from /proc`, from: 'connections run' },
      { item: 'connected process pairs', legacy: get(legacy, (p) => p.liveTcpPairs.length), hub: get(hub, (p) => p.liveTcpPairs.length),
        countedAs: `distinct (client, server) process pairs holding at least one of those connections at n = ${ns}`, from: 'connections run' },
    );
  }
  const f = r.runners.failures;
  if (f) {
    const side = (layout: string): { named: number; of: number } | null => {
      const l = f.layouts.find((x) => x.layout === layout);
      return l ? { named: l.components.filter((x) => x.locatable).length, of: l.components.length } : null;
    };
    const legacy = side('legacy');
    const hub = side('hub');
    if (legacy || hub) {
      rows.push({ item: 'failures one watched place named', legacy: legacy?.named ?? null, hub: hub?.named ?? null,
        countedAs: `killed components that one place named (legacy: RabbitMQ's queue stats; hub: the broker's metrics), out of ${legacy?.of ?? '–'} `
          + `killed in legacy and ${hub?.of ?? '–'} in hub`, from: 'failures run' });
    }
  }
  return rows;
}

type ReportPoint = NonNullable<Report['runners']['connections']>['points'][number];

/** Every count of the operational surface, topology first, then what the runs add. */
export function operationalCounts(r: Report): OperationalRow[] {
  return [...topologyRows(wiringOf(r)), ...runRows(r)];
}
