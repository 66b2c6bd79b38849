/**
 * What a hub message carries besides its JSON value: the header names shared by the publisher, the
 * subscribers and the lake sink, the dead-letter topic naming, and the topic view they all take
 * from the topology's hub layout.
 */
import type { IHeaders } from 'kafkajs';

/** The data kind of the record in the value (`order`, `payment`, …). */
export const HEADER_KIND = 'untangle-kind';
/** The system that published the record (`A`, `B`, …). */
export const HEADER_SOURCE = 'untangle-source';
/** Dead letters: why the record was refused. */
export const HEADER_DLQ_REASON = 'untangle-dlq-reason';
/** Dead letters: where the record was read (`topic/partition/offset`) and by which group. */
export const HEADER_DLQ_ORIGIN = 'untangle-dlq-origin';
export const HEADER_DLQ_GROUP = 'untangle-dlq-group';

/** A topic as the wiring needs it: a structural subset of the topology's HubTopic. */
export interface TopicSpec {
  readonly name: string;
  readonly dataKind: string;
  /** The record field used as the message key: the data kind's declared key (orderId, customerId). */
  readonly key: string;
}

/** The dead-letter topic of one system: `<prefix>dlq.<system>`, e.g. `shop.dlq.C`. */
export function dlqTopicName(topicPrefix: string, systemId: string): string {
  return `${topicPrefix}dlq.${systemId}`;
}

/** A header value as a string (kafkajs hands out Buffers, arrays for repeated headers). */
export function headerString(headers: IHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name];
  if (v === undefined) return undefined;
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined ? undefined : first.toString();
}

/** Headers longer than this are cut, so a huge error message cannot bloat a dead letter. */
export const HEADER_VALUE_CHARS_MAX = 1_000;

export const clipHeader = (value: string): string =>
  value.length <= HEADER_VALUE_CHARS_MAX ? value : `${value.slice(0, HEADER_VALUE_CHARS_MAX - 1)}…`;
