/**
 * The amqp legacy transport: per flow a durable queue, a dead-letter exchange and a dead-letter
 * queue. Publishers send persistent messages on a ConfirmChannel and resolve on the broker's
 * confirm, with a bounded number in flight and a bounded buffer while disconnected (beyond it,
 * publish fails at once). Consumers ack manually with the flow's prefetch; a poison message
 * (undecodable or invalid) is rejected without requeue and lands in the DLQ; a handler exception
 * requeues once, then dead-letters. Unconfirmed publishes are resent after a reconnect
 * (at-least-once: the consumer may see duplicates, which untangle measures).
 *
 * On a cluster (the connector's queueType 'quorum') the queue and its dead-letter queue are quorum
 * queues: replicated on every node, a publish confirmed once a majority has it. Dead-lettering stays
 * RabbitMQ's default, at-most-once: the at-least-once strategy needs overflow reject-publish, and
 * with it RabbitMQ 3.10 nacked every publish after a failover here (no length limit was set). A
 * queue's type is fixed once declared; queue names carry the run id.
 *
 * A nacked message is sent again on a new channel, after a backoff, up to nackRetriesMax times
 * (then its publish rejects): RabbitMQ's nack says "not taken, publish it again". On a cluster that
 * matters: a channel opened while a quorum queue is still electing its new leader (a client that
 * failed over within a few hundred ms of the leader's node dying) nacks every publish to that queue
 * for as long as it lives, here for seconds, until the old node was back; a channel opened half a
 * second later takes them.
 */
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import type { DataFormat, DataKindId } from '../topology/model.ts';
import { backoffDelayMs, CONTENT_TYPES, decodeAndValidate, errorText } from './common.ts';
import type { RecordCodec, RecordValidator } from './common.ts';
import { parseAmqpUrls, type AmqpConnector, type AmqpQueueType } from './amqp-connection.ts';
import { AMQP_PUBLISHER } from '../runtime/tuning.ts';

export interface AmqpFlowNames { readonly queue: string; readonly dlx: string; readonly dlq: string }

/** Queue and exchange names of a flow: `<prefix><flowId>`, `.dlx`, `.dlq`. */
export function amqpNames(flowId: string, prefix = 'legacy.'): AmqpFlowNames {
  const queue = `${prefix}${flowId}`;
  return { queue, dlx: `${queue}.dlx`, dlq: `${queue}.dlq` };
}

/** The queue arguments of a flow queue of this type (the dead-letter queue: without a dead-letter exchange). */
export function flowQueueOptions(type: AmqpQueueType, deadLetter?: { exchange: string; routingKey: string }): Options.AssertQueue {
  const dl = deadLetter ? { deadLetterExchange: deadLetter.exchange, deadLetterRoutingKey: deadLetter.routingKey } : {};
  return type === 'classic' ? { durable: true, ...dl } : { durable: true, ...dl, arguments: { 'x-queue-type': 'quorum' } };
}

/** Declares the flow's queue, dead-letter exchange and dead-letter queue (idempotent for one type). */
export async function declareFlowQueues(ch: Channel, n: AmqpFlowNames, type: AmqpQueueType = 'classic'): Promise<void> {
  await ch.assertExchange(n.dlx, 'direct', { durable: true });
  await ch.assertQueue(n.dlq, flowQueueOptions(type));
  await ch.bindQueue(n.dlq, n.dlx, n.queue);
  await ch.assertQueue(n.queue, flowQueueOptions(type, { exchange: n.dlx, routingKey: n.queue }));
}

/** Deletes a flow's queues and exchange (tests, teardown); `url` may list a cluster's nodes, tried in turn. */
export async function deleteFlowQueues(url: string, n: AmqpFlowNames): Promise<void> {
  let lastError: unknown;
  for (const node of parseAmqpUrls(url)) {
    let conn: ChannelModel;
    try {
      conn = await amqp.connect(node, { timeout: 5_000 });
    } catch (err) {
      lastError = err;
      continue; // a node that is down: the next one
    }
    try {
      const ch = await conn.createChannel();
      await ch.deleteQueue(n.queue);
      await ch.deleteQueue(n.dlq);
      await ch.deleteExchange(n.dlx);
      await ch.close();
      return;
    } finally {
      await conn.close().catch(() => undefined);
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

interface FlowOptions {
  readonly connector: AmqpConnector;
  readonly flowId: string;
  readonly kind: DataKindId;
  readonly format: DataFormat;
  readonly names?: AmqpFlowNames;
  /** Encodes and decodes the records: codecFor(the landscape's RecordKinds). */
  readonly codec: RecordCodec;
}

export interface AmqpPublisherOptions extends FlowOptions {
  /** Messages sent but not yet confirmed, at most. Default AMQP_PUBLISHER.inFlightMax. */
  readonly inFlightMax?: number;
  /** Messages waiting (disconnected or in-flight limit reached), at most; beyond it publish fails. Default AMQP_PUBLISHER.bufferMax. */
  readonly bufferMax?: number;
  /** Times one message is sent again after a nack (on a new channel, after a backoff); then its publish rejects. Default 6 (about 6 s in all). */
  readonly nackRetriesMax?: number;
}

export interface AmqpPublisherCounters {
  /** Messages handed to the channel (resends after a reconnect included). */
  published: number;
  confirmed: number;
  /** Broker nacks (each one retried on a new channel until nackRetriesMax, then the publish promise rejects). */
  nacked: number;
  /** Channels replaced after a nack. */
  channelsRenewed: number;
  /** Unconfirmed messages sent again on a new channel after the old one closed. */
  resent: number;
  /** Publishes refused at once because the buffer was full. */
  bufferRejected: number;
  buffered: number;
  inFlight: number;
}

export class PublishRejectedError extends Error {
  constructor(message: string) { super(message); this.name = 'PublishRejectedError'; }
}

interface Pending { readonly body: Buffer; readonly resolve: () => void; readonly reject: (e: Error) => void; sends: number; nacks: number }

/** Backoff between a nack and the new channel that sends the message again (doubling, with jitter). */
const NACK_BACKOFF = { initialMs: 200, maxMs: 2_000 };

export class AmqpPublisher {
  readonly names: AmqpFlowNames;
  private ch: ConfirmChannel | undefined;
  private blocked = false;
  private readonly buffer: Pending[] = [];
  private readonly inFlight = new Set<Pending>();
  private unregister: (() => void) | undefined;
  private closed = false;
  /** A new channel is due after a nack (a timer); meanwhile nothing is sent. */
  private renewTimer: NodeJS.Timeout | undefined;
  /** Nacks in a row without a confirm in between (drives the backoff). */
  private nacksInARow = 0;
  private readonly c = { published: 0, confirmed: 0, nacked: 0, channelsRenewed: 0, resent: 0, bufferRejected: 0 };

  constructor(readonly options: AmqpPublisherOptions) {
    this.names = options.names ?? amqpNames(options.flowId);
  }

  start(): void {
    this.unregister ??= this.options.connector.onConnect((conn) => this.setup(conn));
  }

  /** Publishes one message carrying `records`; resolves when the broker confirmed it. */
  publish(records: readonly unknown[]): Promise<void> {
    const bufferMax = this.options.bufferMax ?? AMQP_PUBLISHER.bufferMax;
    if (this.buffer.length + this.inFlight.size >= bufferMax) {
      this.c.bufferRejected++;
      return Promise.reject(new PublishRejectedError(`${this.options.flowId}: ${bufferMax} messages already waiting for RabbitMQ`));
    }
    let body: Buffer;
    try {
      body = this.options.codec.encodeBatch(this.options.kind, this.options.format, records);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    return new Promise<void>((resolve, reject) => {
      this.buffer.push({ body, resolve, reject, sends: 0, nacks: 0 });
      this.pump();
    });
  }

  counters(): AmqpPublisherCounters {
    return { ...this.c, buffered: this.buffer.length, inFlight: this.inFlight.size };
  }

  /** Stops publishing; messages still waiting are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.renewTimer);
    this.unregister?.();
    const ch = this.ch;
    this.ch = undefined;
    for (const p of [...this.buffer.splice(0), ...this.inFlight]) p.reject(new PublishRejectedError(`${this.options.flowId}: publisher closed`));
    this.inFlight.clear();
    if (ch) await ch.close().catch(() => undefined);
  }

  private async setup(conn: ChannelModel): Promise<void> {
    clearTimeout(this.renewTimer);
    this.renewTimer = undefined;
    const ch = await conn.createConfirmChannel();
    ch.on('error', () => undefined); // the connection's close drives recovery
    await declareFlowQueues(ch, this.names, this.options.connector.queueType);
    if (this.closed || this.ch) {
      // closed meanwhile, or a reconnect and a renewal raced: one channel is enough
      await ch.close().catch(() => undefined);
      return;
    }
    ch.once('close', () => this.lost(ch));
    ch.on('drain', () => { this.blocked = false; this.pump(); });
    this.ch = ch;
    this.blocked = false;
    this.pump();
  }

  /** After a nack: retire the channel (its unconfirmed messages go back to the buffer) and open a new one after a backoff. */
  private renew(ch: ConfirmChannel): void {
    if (this.ch !== ch) return; // retired already
    this.lost(ch);
    void ch.close().catch(() => undefined);
    this.c.channelsRenewed++;
    this.scheduleRenewal();
  }

  private scheduleRenewal(): void {
    if (this.closed || this.renewTimer) return;
    this.renewTimer = setTimeout(() => {
      this.renewTimer = undefined;
      const conn = this.options.connector.connection;
      if (!conn || this.ch || this.closed) return; // without a connection, the connector's reconnect runs setup()
      this.setup(conn).catch(() => this.scheduleRenewal());
    }, backoffDelayMs(++this.nacksInARow, NACK_BACKOFF));
  }

  /** The channel closed: everything unconfirmed goes back to the front of the buffer, in order. */
  private lost(ch: ConfirmChannel): void {
    if (this.ch !== ch) return;
    this.ch = undefined;
    this.buffer.unshift(...this.inFlight);
    this.inFlight.clear();
  }

  private pump(): void {
    const inFlightMax = this.options.inFlightMax ?? AMQP_PUBLISHER.inFlightMax;
    while (this.ch && !this.blocked && this.buffer.length > 0 && this.inFlight.size < inFlightMax) {
      const ch = this.ch;
      const p = this.buffer.shift()!;
      this.inFlight.add(p);
      if (p.sends++ > 0) this.c.resent++;
      this.c.published++;
      try {
        const ok = ch.publish('', this.names.queue, p.body, {
          persistent: true, contentType: CONTENT_TYPES[this.options.format], type: this.options.kind, appId: this.options.flowId, timestamp: Math.floor(Date.now() / 1000),
        }, (err: unknown) => this.settled(ch, p, err));
        if (!ok) this.blocked = true;
      } catch {
        this.lost(ch); // the channel is already closed; p was in flight and goes back to the buffer
      }
    }
  }

  private settled(ch: ConfirmChannel, p: Pending, err: unknown): void {
    if (!this.inFlight.has(p)) return; // already moved back to the buffer by lost()
    if (err && errorText(err) !== 'message nacked') { this.lost(ch); return; } // channel closed before the confirm
    if (err) {
      this.c.nacked++;
      if (p.nacks++ >= (this.options.nackRetriesMax ?? 6)) {
        this.inFlight.delete(p);
        p.reject(new PublishRejectedError(`${this.options.flowId}: RabbitMQ nacked the message ${p.nacks} times`));
      }
      this.renew(ch); // p (unless given up) and the rest in flight go again on a new channel
      return;
    }
    this.inFlight.delete(p);
    this.nacksInARow = 0;
    this.c.confirmed++;
    p.resolve();
    this.pump();
  }
}

export interface DeliveryInfo {
  readonly redelivered: boolean;
  readonly flowId: string;
}

export interface AmqpConsumerOptions<R = unknown> extends FlowOptions {
  readonly prefetch: number;
  readonly validate?: RecordValidator;
  /** Throwing requeues the message once; a second failure dead-letters it. */
  readonly handler: (records: R[], info: DeliveryInfo) => Promise<void> | void;
  /** Dead-letter reasons remembered for /state, most recent last. Default 20. */
  readonly recentDeadLettersMax?: number;
}

export interface AmqpConsumerCounters {
  /** Messages handled and acked. */
  consumed: number;
  records: number;
  /** Messages sent to the DLQ, for any reason. */
  deadLettered: number;
  /** Of those, messages that could not be decoded or failed validation. */
  poison: number;
  handlerFailures: number;
  /** Messages nacked with requeue after a first handler failure. */
  requeued: number;
  recentDeadLetters: { at: string; reason: string }[];
}

export class AmqpConsumer<R = unknown> {
  readonly names: AmqpFlowNames;
  private ch: Channel | undefined;
  private consumerTag: string | undefined;
  private unregister: (() => void) | undefined;
  private readonly active = new Set<Promise<void>>();
  private readonly c: AmqpConsumerCounters = { consumed: 0, records: 0, deadLettered: 0, poison: 0, handlerFailures: 0, requeued: 0, recentDeadLetters: [] };

  constructor(readonly options: AmqpConsumerOptions<R>) {
    this.names = options.names ?? amqpNames(options.flowId);
  }

  start(): void {
    this.unregister ??= this.options.connector.onConnect((conn) => this.setup(conn));
  }

  counters(): AmqpConsumerCounters {
    return { ...this.c, recentDeadLetters: this.c.recentDeadLetters.map((d) => ({ ...d })) };
  }

  /** Stops consuming, waits for handlers in progress, closes the channel (unacked messages return to the queue). */
  async stop(): Promise<void> {
    this.unregister?.();
    const ch = this.ch;
    this.ch = undefined;
    if (ch && this.consumerTag) await ch.cancel(this.consumerTag).catch(() => undefined);
    await Promise.allSettled([...this.active]);
    if (ch) await ch.close().catch(() => undefined);
  }

  private async setup(conn: ChannelModel): Promise<void> {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    await declareFlowQueues(ch, this.names, this.options.connector.queueType);
    await ch.prefetch(this.options.prefetch);
    this.ch = ch;
    const { consumerTag } = await ch.consume(this.names.queue, (msg) => {
      if (!msg) return; // cancelled by the broker (queue deleted); the next reconnect re-consumes
      const job = this.deliver(ch, msg).finally(() => this.active.delete(job));
      this.active.add(job);
    }, { noAck: false });
    this.consumerTag = consumerTag;
  }

  private async deliver(ch: Channel, msg: ConsumeMessage): Promise<void> {
    const decoded = decodeAndValidate<R>(this.options.codec, this.options.kind, this.options.format, msg.content, this.options.validate);
    if (decoded.bad.length > 0 || decoded.records.length === 0) {
      this.c.poison++;
      const reason = decoded.bad[0]?.reason ?? `no ${this.options.kind} records in message`;
      this.deadLetter(ch, msg, `poison: ${reason}`);
      return;
    }
    try {
      await this.options.handler(decoded.records, { redelivered: msg.fields.redelivered, flowId: this.options.flowId });
    } catch (e) {
      this.c.handlerFailures++;
      if (!msg.fields.redelivered) {
        if (settle(() => ch.nack(msg, false, true))) this.c.requeued++;
      } else {
        this.deadLetter(ch, msg, `handler failed twice: ${errorText(e)}`);
      }
      return;
    }
    if (settle(() => ch.ack(msg))) {
      this.c.consumed++;
      this.c.records += decoded.records.length;
    }
  }

  private deadLetter(ch: Channel, msg: ConsumeMessage, reason: string): void {
    if (!settle(() => ch.nack(msg, false, false))) return;
    this.c.deadLettered++;
    this.c.recentDeadLetters.push({ at: new Date().toISOString(), reason: reason.slice(0, 500) });
    const max = this.options.recentDeadLettersMax ?? 20;
    if (this.c.recentDeadLetters.length > max) this.c.recentDeadLetters.splice(0, this.c.recentDeadLetters.length - max);
  }
}

/** Acks/nacks on a channel that may have closed meanwhile (then the broker redelivers). */
function settle(op: () => void): boolean {
  try {
    op();
    return true;
  } catch {
    return false;
  }
}
