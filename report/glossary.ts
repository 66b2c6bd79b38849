/**
 * The report's glossary: what each failures and throughput figure means, exactly as the runners
 * measure it (scenarios/runners/failures/recovery.ts, loss.ts, figures.ts, observe.ts, and
 * report/failures-compare.ts for comparing layouts; scenarios/runners/throughput* and
 * report/model-throughput.ts). Kept beside the document so a reader of report.md or report.html
 * needs nothing else; change both together.
 */
import { left, paragraph, table, type Block, type Section } from './document-model.ts';
import type { Report } from './model.ts';

export const FAILURES_GLOSSARY: readonly (readonly [string, string])[] = [
  ['kill → ready', 'From kill -9 of the component until its restart was ready again (answered its health check, or the node accepted connections). '
    + 'It includes the time the runner kept it down on purpose, then its start.'],
  ['kill → service', 'From the kill until the service worked again, in 100 ms steps: the later of (1) the ingress back, the first accepted ingress '
    + 'answer after the kill from which on the ingress accepted, counted by the time each answer came, at least 90 % of its warm-up rate over the next 2 s; '
    + 'and (2) the flow back, the send time of the first order sent after the kill that the ingress accepted and that reached every system due to receive one '
    + 'of its records (the lake aside) within that system\'s normal delay: the 95th percentile of its delays in the warm-up, plus 10 % and 100 ms. It is shorter than '
    + 'kill → ready when the layout carried on without the component (a failover, another instance, a consumer nobody waits for). "Not within" means the '
    + 'service was not back by the end of the observation; a mean counts such a fault with its whole observed span, so it is a lower bound.'],
  ['longest ingress outage', 'The longest gap between two consecutive accepted ingress answers, by the time each answer came, from the last one before '
    + 'the kill (within a second of it) to the end of the observation; a gap still open then ends there. What the ingress\'s clients saw as an outage.'],
  ['ingress failed / sent while down', 'Orders sent to the ingress between the kill and ready, and how many were not accepted (an error answer or none).'],
  ['records lost, duplicated', 'From the oracle, once the landscape settled: every record the accepted orders should have produced, in the lake and at '
    + 'each receiving system, that never arrived (lost) or arrived more than once (duplicated); charged to the fault whose window (kill to the end of its '
    + 'observation, reaching back one schedule period for what sat in memory) the order was sent in.'],
  ['buffer lost at kill', 'Lost with the killed system\'s memory: a record it should have handed over later (its lake export, a batch file, a poll feed, an '
    + 'AMQP or hub publish), or one it had taken in from AMQP or a batch file and not yet recorded.'],
  ['in-flight call', 'Lost in a request in progress at the kill: a synchronous REST call to or from the killed system, a poll it was answering or making, '
    + 'or (hub) a record it was handling.'],
  ['RabbitMQ, broker', 'Lost while RabbitMQ (a node, or legacy-ha\'s quorum leader) or the broker (a broker, or hub-cluster\'s quorum leader) was down.'],
  ['lake sink', 'Lake records lost while the hub\'s lake sink was down.'],
  ['unexplained', 'Lost in a fault\'s window but not next to the killed component on its path, with no other loss of the same order next to it; a record '
    + 'missing further along (never made because an earlier record of its order went missing next to the killed component) takes that loss\'s cause.'],
  ['single point of failure', 'A component whose failure alone lost records, or still stopped the service in the second half of the time it was kept '
    + 'down: the ingress refused more than half of the orders then, or nothing moved downstream.'],
  ['service resumed while down', 'In the second half of the time the component was kept down the ingress accepted at least half of the orders and not '
    + 'every downstream system stalled: the layout failed over without it.'],
  ['blast radius', 'The other processes that, between the snapshots right before the kill and right after ready, counted new errors, received less than '
    + 'half their warm-up rate, were down or restarted, or (the ingress) refused orders.'],
  ['located by one place', 'Whether the one place an operator would look (legacy: RabbitMQ\'s queues; hub: the broker\'s metrics; hub-cluster: the '
    + 'cluster\'s quorum, metadata and metrics) named exactly the killed component.'],
  ['same components', 'Each pair of layouts is compared over the components both failed, matched by role: a system by its id; RabbitMQ, the broker and '
    + 'each node of a cluster (rabbitmq-N, broker-N) as a messaging node; the quorum leader; the lake sink.'],
  ['not tested, not applicable, not measured', '"Not tested": the component exists in that layout but was not failed in this run. "Not applicable": the '
    + 'layout has no such component (legacy has no lake sink, only the cluster layouts have a quorum leader). "Not measured": the run did not measure that '
    + 'layout, or the report was made before that figure was.'],
];

export const THROUGHPUT_GLOSSARY: readonly (readonly [string, string])[] = [
  ['open-loop load, intended send time', 'The load generator sends each order at its slot in a fixed schedule at the target rate, whether or not earlier '
    + 'orders were answered; that slot is the order\'s intended send time. Every latency counts from it, so when the landscape stalls, the orders due '
    + 'meanwhile carry the wait (no coordinated omission), where a closed loop would just send fewer orders and hide it.'],
  ['sustained rate', 'The highest target rate at which a point met every criterion of the method (ingress p99 and backlog growth within their '
    + 'bounds); the landscape\'s limit lies between it and the lowest rate that was not sustained. Over the runs: their median with a 95 % interval.'],
  ['ingress latency', 'From an order\'s intended send time until the ingress answered it, over the accepted orders of the point\'s window; p50, p99, p99.9.'],
  ['time to systems', 'From an order\'s intended send time until every downstream system had applied all of the order\'s effects (every record it was '
    + 'due to receive).'],
  ['time to lake', 'From an order\'s intended send time until the lake held all of the order\'s records.'],
  ['backlog growth', 'The median time to systems of the orders of the window\'s last quarter minus that of its first quarter. About 0 while the '
    + 'landscape keeps up; growing when work piles up faster than it drains, which can happen before the ingress shows anything.'],
  ['CPU per order', 'The CPU time (user and system) of every landscape process over the cost point\'s window, divided by the orders scheduled in it, '
    + 'at the same rate in every layout. The load generator is not included; its CPU per order is shown apart.'],
  ['CPU parts', 'Where the CPU per order went, measured inside the processes: declared work (each system\'s configured per-message work), rules '
    + '(validating records and running the rule expressions), serialization (encoding and decoding JSON, XML, CSV and Kafka values, in the systems '
    + 'and the lake writer), transport and runtime (everything else in the system processes: HTTP, AMQP and Kafka clients, sockets, timers, garbage '
    + 'collection), lake export (the legacy systems writing their export files), broker or RabbitMQ (that process), lake writer (the hub\'s lake sink '
    + 'process). Measured apart from the total; their difference is shown as unattributed.'],
  ['idle CPU', 'CPU ms per second of each process with no load at all, once the warm-up had drained: the always-on cost of pollers, export timers, '
    + 'heartbeats and fetch loops, paid whether or not orders arrive.'],
  ['disk bytes (write_bytes)', 'The write_bytes counter of /proc/PID/io, per order: bytes the processes caused to be written to storage (pages they '
    + 'dirtied), such as batch files, lake files and the broker\'s log.'],
  ['socket and pipe bytes (wchar − write_bytes)', 'All bytes the processes wrote (wchar of /proc/PID/io) minus those that went to storage, per order: '
    + 'writes to sockets and pipes, and file writes that never reached storage.'],
  ['records crossing the integration', 'Records per order that went from one process to another: received by a system, or written to the lake. '
    + 'Integration CPU per record divides the integration\'s parts (serialization, transport and runtime, lake export, broker or RabbitMQ, lake writer) by them.'],
  ['scale-out', 'The busiest system of the first run\'s cost point ran as several instances and the rate was searched again: whether more instances '
    + 'raise the sustained rate, and which process becomes the bottleneck.'],
];

export const CONNECTIONS_GLOSSARY: readonly (readonly [string, string])[] = [
  ['n (systems)', 'The first n systems of the topology, started together in each layout; the connections runner measures every n it lists.'],
  ['declared links', 'Integration links the topology declares for the layout, counted, not measured: legacy, one per point-to-point link (a REST call, '
    + 'a poll, a queue, a batch file drop) plus one per lake export; hub, one per system that publishes or consumes, plus the lake sink\'s.'],
  ['live TCP connections', 'ESTABLISHED TCP connections between the landscape\'s processes (RabbitMQ and the broker included), read from /proc/net/tcp '
    + 'and each process\'s socket file descriptors in /proc/PID/fd while light load runs, per process pair and in total. A connection a process opens '
    + 'and closes per call (a REST request without keep-alive, a batch file) does not show; batch files and the lake use no connection at all.'],
  ['protocols, formats', 'The distinct transports (REST call, REST poll, AMQP, batch file, Kafka) and data formats (JSON, XML, CSV) the layout\'s links use.'],
  ['adapters', 'For each system, the distinct (transport, format) pairs it must speak, summed over the systems: each is code a team writes, tests and '
    + 'keeps working (a client or a server, a parser and a writer). Counted from the topology.'],
  ['model, projection', 'Growth beyond the measured n is a model: a straight line fitted by least squares to the measured points (R² and the RMS '
    + 'residual say how well it fits them), shown for legacy as a band up to the worst case counted the way the measurement counts (a full mesh plus the '
    + 'lake links); never a measurement.'],
  ['operational surface', 'What a layout gives a team to deploy, secure, configure and watch: deployable units, endpoints, credentials, queues, '
    + 'topics, receivers, things to monitor and places a failure shows up, counted from the topology the way the wiring builds it (exact), and the '
    + 'processes, connections and located failures the runs saw. Each row of its table says how it was counted.'],
  ['monthly cost', 'Only with unit prices from the scenario file: CPU core-hours (idle CPU all month plus each order\'s CPU above idle), resident '
    + 'memory held all month, bytes written to disk and bytes sent over sockets, at the cost rate for 30 days (or the volume the scenario gives), each '
    + 'times its price. Without prices no money is shown.'],
];

export const ONBOARDING_GLOSSARY: readonly (readonly [string, string])[] = [
  ['existing systems reconfigured', 'Systems already running whose configuration had to change so the newcomers get their data or send theirs: '
    + 'counted from the wiring (legacy: every system that must call, poll, queue or drop files to or from a newcomer; hub: none, a newcomer subscribes).'],
  ['existing systems restarted', 'Of those, the ones that had to restart to take the change (legacy with peers fixed at start); with peers=reload they '
    + 'rewire while running and are counted as reconfigured only.'],
  ['ingress downtime', 'The longest run of failed ingress requests, under steady load, from the start of the change until every newcomer was healthy.'],
  ['onboarding time', 'From the start of the change until every newcomer was healthy and every existing system that had to change had changed.'],
  ['newcomer received history', 'Whether a newcomer got the records of orders accepted before it joined (its share, had it been there): the hub replays '
    + 'a topic from its first offset; a point-to-point link starts at the moment it is made.'],
];

/** Recovery and CPU windows: where each time is measured from, said once for the whole report. */
export const WINDOWS_GLOSSARY: readonly (readonly [string, string])[] = [
  ['recovery is measured from', 'The kill (kill -9): kill → ready and kill → service both start at the signal, not at the restart, so they include '
    + 'the time the component was kept down on purpose; a layout that carries on without the component shows a kill → service shorter than its '
    + 'kill → ready.'],
  ['the CPU window starts', 'After the ramp at the cost rate (long enough for the slowest schedule, so every pipeline, batch and export is in steady '
    + 'state) and lasts the point\'s window; CPU is read from /proc/PID/stat of every landscape process at both ends of the window.'],
  ['bytes written', 'write_bytes of /proc/PID/io over the same window: bytes each process caused to be sent to storage (batch files, lake files, '
    + 'the broker\'s log, RabbitMQ\'s message store), not bytes sent on sockets, which are counted apart.'],
];

const glossaryTable = (id: string, caption: string, entries: readonly (readonly [string, string])[]): Block =>
  table({ id, caption, columns: [left('term'), left('definition')], rows: entries.map(([t, d]) => [t, d]) });

/** The most common count of live connections a hub system holds to the broker at the largest n measured, or null. */
function hubConnectionsPerSystem(r: Report): { perSystem: number; n: number } | null {
  const points = (r.runners.connections?.points ?? []).filter((p) => p.layout === 'hub');
  if (points.length === 0) return null;
  const p = points.reduce((a, b) => (b.n > a.n ? b : a));
  const counts = new Map<number, number>();
  for (const pair of p.liveTcpPairs) if (p.systems.includes(pair.client)) counts.set(pair.connections, (counts.get(pair.connections) ?? 0) + 1);
  const top = [...counts].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0];
  return top === undefined ? null : { perSystem: top[0], n: p.n };
}

/** Two explanations a board asks for, in the report itself: why the hub holds more connections, why legacy loses records. */
function explanations(r: Report): Block[] {
  const blocks: Block[] = [];
  if (r.runners.connections) {
    const hub = hubConnectionsPerSystem(r);
    blocks.push(paragraph('Why the hub can hold more live TCP connections than legacy has links: a Kafka client keeps its connections open for as '
      + 'long as it runs, one per role (the producer, the consumer\'s fetches, the group coordinator, metadata), all to the broker'
      + (hub ? ` (at n = ${hub.n} most hub systems held ${hub.perSystem} each)` : '')
      + ', while most legacy links hold none: a batch file or a lake export is a file, and a REST call is a short request. More connections, but all to '
      + 'one place that is watched, where legacy\'s are spread over every pair of systems.'));
  }
  if (r.runners.failures) {
    blocks.push(paragraph('Why the legacy layout loses records at a kill: as it grew, each legacy system holds in memory what it hands over later on a '
      + 'schedule (its lake export, batch files, poll feeds) and takes part in synchronous calls; kill -9 loses both (the causes "buffer lost at kill" '
      + 'and "in-flight call"). A hub system hands each record to the broker as soon as it makes it, and the broker keeps it in its log, so a '
      + 'consumer killed mid-way reads on from its committed offset and nothing waits in a killed process\'s memory. The best practices (a durable outbox, idempotent delivery) close most of that gap, '
      + 'which is what legacy-ha measures.'));
  }
  return blocks;
}

/** The glossary section: a table for every runner present, where each time is measured from, and the two explanations; null when no runner ran. */
export function glossarySection(r: Report): Section | null {
  const runners = r.runners;
  const blocks = [
    ...(runners.connections ? [glossaryTable('glossary-connections', 'Connections and coupling: what each figure means', CONNECTIONS_GLOSSARY)] : []),
    ...(runners.failures ? [glossaryTable('glossary-failures', 'Failures: what each figure means', FAILURES_GLOSSARY)] : []),
    ...(runners.throughput ? [glossaryTable('glossary-throughput', 'Throughput and cost: what each figure means', THROUGHPUT_GLOSSARY)] : []),
    ...(runners.onboarding ? [glossaryTable('glossary-onboarding', 'Onboarding: what each figure means', ONBOARDING_GLOSSARY)] : []),
    ...(runners.failures || runners.throughput ? [glossaryTable('glossary-windows', 'Where each time and count starts', WINDOWS_GLOSSARY)] : []),
    ...explanations(r),
  ];
  return blocks.length === 0 ? null : { id: 'glossary', title: 'Glossary', blocks };
}
