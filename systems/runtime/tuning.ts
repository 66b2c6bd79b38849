/**
 * Every performance knob of the two layouts' wiring, in one place: the values the wiring code
 * imports (the hub's kafkajs clients, publisher, subscribers and lake sink; the legacy AMQP, REST,
 * batch file and lake export transports), and `wiringTuning()`, the same values with the reason
 * for each, as the throughput report lists them. A knob changed here changes the wiring and the
 * report together, and a knob added here without a reason does not compile.
 *
 * The aim is the wiring a careful team would ship for a landscape like ours (hundreds of orders a
 * second, records of a few hundred bytes, low latency wanted): each library's documented advice,
 * a change only where a measurement backs it, and delivery exactly as it was (a record is
 * acknowledged or committed only once it has been handled). Knobs left at a library's default are
 * listed too when they matter, saying so.
 *
 * What the landscape declares is not set here: a flow's schedule, AMQP prefetch, REST timeout and
 * retries come from the topology (a flow's `legacy` settings, else its `defaults`), as an
 * integration team is given them; the report names them and where they come from.
 *
 * A leaf module (no kafkajs, no amqplib): legacy processes import it without loading the hub's client.
 */
import type { TuningKnob } from '../../report/model-throughput.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

// ---- hub: kafkajs ------------------------------------------------------------------------------

/** Every kafkajs client of a hub process (createKafka). */
export const KAFKA_CLIENT = {
  connectionTimeout: 5_000,
  requestTimeout: 30_000,
} as const;

/** The hub topics the wiring creates (ensureTopics). */
export const HUB_TOPICS = {
  partitions: 6,
} as const;

/** A system's publisher (HubPublisher) and its kafkajs producer. */
export const HUB_PRODUCER = {
  acks: -1,
  idempotent: true,
  maxInFlightRequests: 1,
  compression: 'none',
  lingerMs: 0,
  batchMax: 500,
  batchBytesMax: 1 * MiB,
  queueMax: 1_000,
  queueBytesMax: 8 * MiB,
  ackTimeoutMs: 30_000,
} as const;

/** Both kinds of group consumer (groupConsumer): a system's subscriber and the lake sink. */
export const HUB_CONSUMER = {
  sessionTimeout: 10_000,
  heartbeatInterval: 1_000,
  rebalanceTimeout: 30_000,
  maxWaitTimeInMs: 500,
  minBytes: 1,
  maxBytes: 10 * MiB,
} as const;

/** A system's subscriber (HubSubscriber). */
export const HUB_SUBSCRIBER = {
  maxBytesPerPartition: 256 * KiB,
  partitionsConsumedConcurrentlyMax: 64,
  autoCommitInterval: 1_000,
  autoCommitThreshold: 100,
} as const;

/** The hub's lake sink (HubLakeSink). */
export const HUB_LAKE_SINK = {
  maxBytesPerPartition: 1 * MiB,
  partitionsConsumedConcurrently: 6,
  flushIntervalMs: 1_000,
  flushRecordsMax: 5_000,
} as const;

// ---- legacy ------------------------------------------------------------------------------------

/** The one AMQP connection of a legacy system process (AmqpConnector). */
export const AMQP_CONNECTION = {
  heartbeatS: 10,
  noDelay: false,
} as const;

/** A flow's AMQP publisher (AmqpPublisher). */
export const AMQP_PUBLISHER = {
  inFlightMax: 100,
  bufferMax: 1_000,
} as const;

/** A rest-sync caller's (or rest-poll poller's) HTTP client (RestClient). */
export const REST_CLIENT = {
  keepAlive: true,
  maxSockets: 16,
} as const;

/** A legacy system's HTTP server (createRestApp). */
export const REST_SERVER = {
  keepAliveTimeout: 5_000,
  bodyBytesMax: 1 * MiB,
  feedPageMax: 1_000,
} as const;

/** A rest-poll receiver's poller (RestPoller). */
export const REST_POLLER = {
  limit: 500,
} as const;

/** A batch flow's sending side (BatchWriter). */
export const BATCH_WRITER = {
  recordsPerFileMax: 1_000,
  fileBytesMax: 4 * MiB,
  bufferMax: 10_000,
} as const;

/** A batch flow's receiving side (BatchPicker). */
export const BATCH_PICKER = {
  filesPerScanMax: 100,
} as const;

/** A legacy system's own lake export (LakeExporter). */
export const LAKE_EXPORT = {
  bufferRecordsMax: 10_000,
} as const;

// ---- the report --------------------------------------------------------------------------------

type Value = number | boolean | string;
type Unit = 'ms' | 's' | 'bytes' | 'records' | 'messages' | 'partitions' | 'sockets' | 'files';
/** A knob's reason, and the unit its value is shown in (none: as it is). */
type Doc = { why: string; unit?: Unit };

/** Knobs of one part of one layout's wiring: their values and the reason for each. */
export interface TuningGroup {
  layout: TuningKnob['layout'];
  part: string;
  values: Readonly<Record<string, Value>>;
  docs: Readonly<Record<string, Doc>>;
}

/** A group with a reason for every knob of `values` (the compiler checks none is missing). */
function group<T extends Readonly<Record<string, Value>>>(layout: TuningKnob['layout'], part: string, values: T, docs: { [K in keyof T]: Doc }): TuningGroup {
  return { layout, part, values, docs };
}

function shown(value: Value, unit: Unit | undefined): string {
  if (unit === 'bytes' && typeof value === 'number') return value % MiB === 0 ? `${value / MiB} MiB` : value % KiB === 0 ? `${value / KiB} KiB` : `${value} B`;
  return unit ? `${value} ${unit}` : String(value);
}

/**
 * Every constant above with its reasons (a test checks none is left out), then the knobs left at
 * a library's default or set by the landscape, which no constant here holds.
 */
export const TUNING_GROUPS: readonly TuningGroup[] = [
  group('hub', 'kafkajs client', KAFKA_CLIENT, {
    connectionTimeout: { unit: 'ms', why: 'kafkajs default 1 s; 5 s so that a broker busy restarting (the failures runs) is not given up on too early. No effect under steady load.' },
    requestTimeout: { unit: 'ms', why: 'kafkajs default.' },
  }),
  group('hub', 'kafkajs client', { noDelay: 'false (kafkajs default)' }, {
    noDelay: { why: 'TCP_NODELAY left off, as kafkajs ships it. Measured with it set through a socket factory (as the Java client sets it): no difference in acknowledgement latency or rate, on one broker or on a 3-node cluster.' },
  }),
  group('hub', 'hub topics', HUB_TOPICS, {
    partitions: { unit: 'partitions', why: 'Per topic the wiring creates: room for a few instances of a system and for the subscribers\' per-partition concurrency.' },
  }),
  group('hub', 'kafkajs producer', HUB_PRODUCER, {
    acks: { why: 'all: a publish resolves only once the broker (on a cluster, the in-sync replicas) has the record. Delivery, not tuning.' },
    idempotent: { why: 'The broker drops the duplicates a client retry would make; Kafka\'s own clients do so by default since 3.0.' },
    maxInFlightRequests: { why: 'kafkajs\'s idempotent producer keeps each partition in order only with one request in flight; records queue meanwhile and go together in the next request.' },
    compression: { why: 'Records of a few hundred bytes in batches of a few: compressing costs CPU and saves little on a local network.' },
    lingerMs: { unit: 'ms', why: 'kafkajs has no linger.ms; the publisher has one (Kafka 4.0 and librdkafka default to 5 ms). Left at 0: handlers await their publishes (a record is done only once its outputs are acknowledged), so a linger delays every record of a partition. Measured at 300 records/s over two hops: 1 ms added 3-4 ms to the median, 2 ms 8-12 ms; and 2 ms cut the rate of 6 such handlers by a quarter, for no more records per request than the per-turn batching below gives.' },
    batchMax: { unit: 'records', why: 'Per produce request at most; under a backlog requests are this full.' },
    batchBytesMax: { unit: 'bytes', why: 'Value bytes per produce request at most: Kafka\'s default max.request.size.' },
    queueMax: { unit: 'records', why: 'Waiting to be sent before publish() waits for room: backpressure, not unbounded memory.' },
    queueBytesMax: { unit: 'bytes', why: 'The same bound in value bytes.' },
    ackTimeoutMs: { unit: 'ms', why: 'kafkajs default: how long the in-sync replicas have to acknowledge.' },
  }),
  group('hub', 'kafkajs producer', { batching: 'one produce request per event-loop turn' }, {
    batching: { why: 'Was: the first publish after a pause went alone. Now the sender lets the current turn finish first, so the publishes of the handlers one fetch or one acknowledgement released go in one request; those made while it is in flight go in the next. Measured with 3, 6 and 18 handlers each awaiting its publish: twice the records per request, broker CPU per record 35-50 % lower, the publishing process\'s up to 20 % lower, 2-17 % more records a second, publish latency no higher.' },
  }),
  group('hub', 'kafkajs consumer', HUB_CONSUMER, {
    sessionTimeout: { unit: 'ms', why: 'kafkajs default 30 s. Shorter notices a dead member sooner; Kafka refuses less than 6 s, and a busy member on a loaded machine would be expired.' },
    heartbeatInterval: { unit: 'ms', why: 'A tenth of the session (kafkajs default 3 s): a rebalance is noticed within a second.' },
    rebalanceTimeout: { unit: 'ms', why: 'kafkajs default 60 s; a member not back within 30 s is left out.' },
    maxWaitTimeInMs: { unit: 'ms', why: 'How long the broker holds a fetch while nothing new arrives: Kafka\'s own default (fetch.max.wait.ms); kafkajs ships 5 s, which makes a stop or a rebalance wait that long. A fetch returns as soon as a record arrives, so this sets the idle fetches (2 a second per consumer, the hub\'s always-on cost) and how soon a stop or rebalance is noticed, not latency. 200 ms was tried: 2.5 times the idle fetches.' },
    minBytes: { unit: 'bytes', why: 'kafkajs default: a fetch returns with the first record (latency over fewer fetches).' },
    maxBytes: { unit: 'bytes', why: 'kafkajs default: the most one fetch returns over all partitions.' },
  }),
  group('hub', 'kafkajs consumer (system subscriber)', HUB_SUBSCRIBER, {
    maxBytesPerPartition: { unit: 'bytes', why: 'A quarter of kafkajs\'s 1 MiB: about a thousand records per partition per fetch, so a fetch round (kafkajs fetches again only once all of it is handled) stays short.' },
    partitionsConsumedConcurrentlyMax: { unit: 'partitions', why: 'Was 3; now every partition of its topics, up to this bound. kafkajs fetches again only when every batch of the last fetch is handled, and a handler waits for its outputs\' acknowledgement (and a rule\'s declared delay), so with fewer workers than partitions the batches wait in turn. kafkajs advises at most the partitions consumed; one partition\'s records stay in order. Measured on 6 partitions: at 600 records/s of 300 us each, 3 fell behind (median 0.6-0.7 s and growing), 6 kept up (median 31-34 ms); with a 40 ms delay, 3 handled 61 records/s, 6 handled 92.' },
    autoCommitInterval: { unit: 'ms', why: 'Within a long batch, offsets of handled records are committed at least every second; kafkajs commits after every batch anyway.' },
    autoCommitThreshold: { unit: 'records', why: 'Or after 100 handled records: bounds what a crash re-delivers.' },
  }),
  group('hub', 'kafkajs consumer (system subscriber)', { commits: 'after every batch (kafkajs autoCommit)' }, {
    commits: { why: 'kafkajs commits once a batch is handled, whatever the interval: one commit request per partition batch. Committing on a timer instead (as Java does every 5 s) would save requests but re-deliver more after a crash, changing the failures figures; kept.' },
  }),
  group('hub', 'kafkajs consumer (lake sink)', HUB_LAKE_SINK, {
    maxBytesPerPartition: { unit: 'bytes', why: 'kafkajs default: the sink only appends to buffers, so large fetches cost no latency.' },
    partitionsConsumedConcurrently: { unit: 'partitions', why: 'Appending is synchronous and flushes go one at a time, so more workers would not help.' },
    flushIntervalMs: { unit: 'ms', why: 'Records reach the lake, and their offsets are committed, at least every second: about a second to the lake, one part file per kind per second.' },
    flushRecordsMax: { unit: 'records', why: 'Or sooner once this many wait, bounding what a crash reads again.' },
  }),
  group('legacy', 'AMQP connection', AMQP_CONNECTION, {
    heartbeatS: { unit: 's', why: 'RabbitMQ advises 5-20 s (its default 60 s): a silent peer is noticed within about 20 s.' },
    noDelay: { why: 'amqplib default (Nagle on), passed explicitly. Measured with TCP_NODELAY (as RabbitMQ\'s Java client sets it): confirm and delivery latency within run-to-run noise; left off.' },
  }),
  group('legacy', 'AMQP connection', { connections: 'one per system process' }, {
    connections: { why: 'Publishers and consumers share it, one channel each. RabbitMQ advises separate connections so that a publisher held back by flow control does not slow its consumers\' acks; publishing 3,000 messages a second (ten times our rate) the sampled connection states stayed running, not flow, so kept; a second connection would also change the failure runs\' reconnect counts.' },
  }),
  group('legacy', 'AMQP publisher', AMQP_PUBLISHER, {
    inFlightMax: { unit: 'messages', why: 'Confirms are streamed, not awaited one at a time (RabbitMQ\'s advice): up to this many unconfirmed on the channel, each publish resolving on its own confirm.' },
    bufferMax: { unit: 'messages', why: 'Waiting (disconnected, or the in-flight limit reached); beyond it a publish fails at once and the sender keeps its input.' },
  }),
  group('legacy', 'AMQP consumer', { prefetch: 'per flow, from the landscape', acks: 'manual, one per message' }, {
    prefetch: { why: 'The flow\'s prefetch, else the landscape\'s defaults.amqpPrefetch: declared, as an integration team is given it. Messages are handled concurrently up to it.' },
    acks: { why: 'At-least-once: a message is acknowledged once handled. Handled concurrently, so out of order: no multiple-acks.' },
  }),
  group('legacy', 'REST client', REST_CLIENT, {
    keepAlive: { why: 'Connections are reused, no handshake per call; Node closes an idle socket before the server\'s announced Keep-Alive timeout.' },
    maxSockets: { unit: 'sockets', why: 'Per receiver instance: concurrent calls at most (Node\'s default is unbounded); more queue in the agent. As many may stay open idle, so a burst after a pause needs no new connections.' },
  }),
  group('legacy', 'REST client', { timeoutAndRetries: 'per flow, from the landscape' }, {
    timeoutAndRetries: { why: 'The flow\'s timeoutMs and retries, else the landscape\'s defaults.restTimeoutMs and restRetries: declared. A retry may duplicate work at the receiver; that is measured.' },
  }),
  group('legacy', 'REST server', REST_SERVER, {
    keepAliveTimeout: { unit: 'ms', why: 'Node\'s default: idle client connections stay open 5 s.' },
    bodyBytesMax: { unit: 'bytes', why: 'Largest request body accepted.' },
    feedPageMax: { unit: 'records', why: 'Most records one rest-poll page returns.' },
  }),
  group('legacy', 'REST poller', REST_POLLER, {
    limit: { unit: 'records', why: 'Per poll; a full page is followed by another poll at once, so a backlog drains without waiting for the schedule.' },
  }),
  group('legacy', 'batch files', BATCH_WRITER, {
    recordsPerFileMax: { unit: 'records', why: 'Per file at most; the landscape\'s scheduleMs decides how often files are dropped.' },
    fileBytesMax: { unit: 'bytes', why: 'Per file at most.' },
    bufferMax: { unit: 'records', why: 'Waiting for the next file; beyond it the sender is refused and keeps its input.' },
  }),
  group('legacy', 'batch files', BATCH_PICKER, {
    filesPerScanMax: { unit: 'files', why: 'Files handled per scan at most: 100 files of up to 1,000 records is far above what one schedule period brings.' },
  }),
  group('legacy', 'lake export', LAKE_EXPORT, {
    bufferRecordsMax: { unit: 'records', why: 'An export is written early once this many wait; otherwise on the system\'s declared schedule.' },
  }),
];

/** Every knob of both layouts' wiring, as the run uses it, with why. */
export function wiringTuning(): TuningKnob[] {
  return TUNING_GROUPS.flatMap((g) => Object.keys(g.values).map((knob): TuningKnob => ({
    layout: g.layout,
    part: g.part,
    knob,
    value: shown(g.values[knob], g.docs[knob].unit),
    why: g.docs[knob].why,
  })));
}
