/**
 * The amqp legacy transport: per flow a durable queue, a dead-letter exchange and a dead-letter
 * queue. Publishers send persistent messages on a ConfirmChannel and resolve on the broker's
 * confirm, with a bounded number in flight and a bounded buffer while disconnected (beyond it,
 * publish fails at once). Consumers ack manually with the flow's prefetch; a poison message
 * (undecodable or invalid) is rejected without requeue and lands in the DLQ; a handler exception
 * requeues once, then dead-letters. Unconfirmed publishes are resent after a reconnect
 * (at-least-once: the consumer may see duplicates, which untangle measures).
 */
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { DataFormat, DataKindId } from '../topology/model.ts';
import { CONTENT_TYPES, decodeAndValidate, errorText } from './common.ts';
import type { RecordCodec, RecordValidator } from './common.ts';
import type { AmqpConnector } from './amqp-connection.ts';

export interface AmqpFlowNames { readonly queue: string; readonly dlx: string; readonly dlq: string }

/** Queue and exchange names of a flow: `<prefix><flowId>`, `.dlx`, `.dlq`. */
export function amqpNames(flowId: string, prefix = 'legacy.'): AmqpFlowNames {
  const queue = `${prefix}${flowId}`;
  return { queue, dlx: `${queue}.dlx`, dlq: `${queue}.dlq` };
}

/** Declares the flow's queue, dead-letter exchange and dead-letter queue (idempotent). */
export async function declareFlowQueues(ch: Channel, n: AmqpFlowNames): Promise<void> {
  await ch.assertExchange(n.dlx, 'direct', { durable: true });
  await ch.assertQueue(n.dlq, { durable: true });
  await ch.bindQueue(n.dlq, n.dlx, n.queue);
  await ch.assertQueue(n.queue, { durable: true, deadLetterExchange: n.dlx, deadLetterRoutingKey: n.queue });
}

/** Deletes a flow's queues and exchange (tests, teardown). */
export async function deleteFlowQueues(url: string, n: AmqpFlowNames): Promise<void> {
  const conn: ChannelModel = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    await ch.deleteQueue(n.queue);
    await ch.deleteQueue(n.dlq);
    await ch.deleteExchange(n.dlx);
    await ch.close();
  } finally {
    await conn.close();
  }
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
  /** Messages sent but not yet confirmed, at most. Default 100. */
  readonly inFlightMax?: number;
  /** Messages waiting (disconnected or in-flight limit reached), at most; beyond it publish fails. Default 1000. */
  readonly bufferMax?: number;
}

export interface AmqpPublisherCounters {
  /** Messages handed to the channel (resends after a reconnect included). */
  published: number;
  confirmed: number;
  /** Broker nacks; the publish promise rejects. */
  nacked: number;
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

interface Pending { readonly body: Buffer; readonly resolve: () => void; readonly reject: (e: Error) => void; sends: number }

export class AmqpPublisher {
  readonly names: AmqpFlowNames;
  private ch: ConfirmChannel | undefined;
  private blocked = false;
  private readonly buffer: Pending[] = [];
  private readonly inFlight = new Set<Pending>();
  private unregister: (() => void) | undefined;
  private readonly c = { published: 0, confirmed: 0, nacked: 0, resent: 0, bufferRejected: 0 };

  constructor(readonly options: AmqpPublisherOptions) {
    this.names = options.names ?? amqpNames(options.flowId);
  }

  start(): void {
    this.unregister ??= this.options.connector.onConnect((conn) => this.setup(conn));
  }

  /** Publishes one message carrying `records`; resolves when the broker confirmed it. */
  publish(records: readonly unknown[]): Promise<void> {
    const bufferMax = this.options.bufferMax ?? 1000;
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
      this.buffer.push({ body, resolve, reject, sends: 0 });
      this.pump();
    });
  }

  counters(): AmqpPublisherCounters {
    return { ...this.c, buffered: this.buffer.length, inFlight: this.inFlight.size };
  }

  /** Stops publishing; messages still waiting are rejected. */
  async close(): Promise<void> {
    this.unregister?.();
    const ch = this.ch;
    this.ch = undefined;
    for (const p of [...this.buffer.splice(0), ...this.inFlight]) p.reject(new PublishRejectedError(`${this.options.flowId}: publisher closed`));
    this.inFlight.clear();
    if (ch) await ch.close().catch(() => undefined);
  }

  private async setup(conn: ChannelModel): Promise<void> {
    const ch = await conn.createConfirmChannel();
    ch.on('error', () => undefined); // the connection's close drives recovery
    await declareFlowQueues(ch, this.names);
    ch.once('close', () => this.lost(ch));
    ch.on('drain', () => { this.blocked = false; this.pump(); });
    this.ch = ch;
    this.blocked = false;
    this.pump();
  }

  /** The channel closed: everything unconfirmed goes back to the front of the buffer, in order. */
  private lost(ch: ConfirmChannel): void {
    if (this.ch !== ch) return;
    this.ch = undefined;
    this.buffer.unshift(...this.inFlight);
    this.inFlight.clear();
  }

  private pump(): void {
    const inFlightMax = this.options.inFlightMax ?? 100;
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
    this.inFlight.delete(p);
    if (err) {
      this.c.nacked++;
      p.reject(new PublishRejectedError(`${this.options.flowId}: RabbitMQ nacked the message`));
    } else {
      this.c.confirmed++;
      p.resolve();
    }
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
    await declareFlowQueues(ch, this.names);
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
