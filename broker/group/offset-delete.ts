// OffsetDelete (API 47, KIP-496): which of a group's committed offsets an admin may delete, following
// Kafka's ClassicGroup.validateOffsetDelete and OffsetMetadataManager.deleteOffsets.
//
// A group with members may lose the offsets of topics it does not consume: for a consumer-protocol
// group, a partition of a topic some member subscribes to answers GROUP_SUBSCRIBED_TO_TOPIC and
// keeps its offset. Subscriptions come from the members' JoinGroup metadata for the chosen
// protocol, read as ConsumerProtocolSubscription v0 (a prefix of every version). When they cannot
// be known (no protocol chosen yet, metadata that does not parse), every topic counts as subscribed,
// as Kafka does, so nothing a live consumer may need is deleted. A group with members of another
// protocol type is refused whole (NON_EMPTY_GROUP); an Empty group loses every named offset.
import { ErrorCode } from '../protocol/errors.ts';
import { Reader } from '../protocol/wire.ts';
import { decodeConsumerProtocolSubscription } from '../protocol/generated/consumer-protocol.ts';
import type { ClassicGroup } from './classic-group.ts';
import type { OffsetStore, TopicPartitionRef } from './offset-store.ts';

/** The protocol type of the Java consumer's group protocol (ConsumerProtocol.PROTOCOL_TYPE). */
export const CONSUMER_PROTOCOL_TYPE = 'consumer';

export interface OffsetDeleteTopic {
  name: string;
  partitions: number[];
}

export interface OffsetDeleteResult {
  /** Top-level error; `topics` is empty when it is not NONE. */
  errorCode: number;
  /** One entry per requested topic and partition, in request order. */
  topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[];
}

export interface OffsetDeletePlan {
  result: OffsetDeleteResult;
  /** Committed offsets to delete (each once); empty when nothing is to be deleted. */
  deletions: TopicPartitionRef[];
}

/**
 * Kafka's ClassicGroup.computeSubscribedTopics over the current members: the union of their
 * subscriptions, an empty set for a group without members, null when unknown.
 */
export function subscribedTopics(group: ClassicGroup): Set<string> | null {
  if (group.members.size === 0) return new Set();
  if (group.protocolType !== CONSUMER_PROTOCOL_TYPE || group.protocolName === null) return null;
  const topics = new Set<string>();
  for (const member of group.members.values()) {
    const metadata = member.protocols.find((p) => p.name === group.protocolName)?.metadata;
    if (!metadata) return null;
    try {
      const r = new Reader(metadata);
      if (r.readInt16() < 0) return null;
      for (const topic of decodeConsumerProtocolSubscription(r, 0).topics) topics.add(topic);
    } catch {
      return null;
    }
  }
  return topics;
}

/**
 * Decides an OffsetDelete for `groupId`: `group` is its membership (undefined when none is held),
 * `topics` the partitions that exist and the caller may delete (the handler answers the others).
 */
export function planOffsetDelete(
  groupId: string,
  group: ClassicGroup | undefined,
  topics: readonly OffsetDeleteTopic[],
  offsets: Pick<OffsetStore, 'get' | 'hasGroup'>,
): OffsetDeletePlan {
  const refuse = (errorCode: number): OffsetDeletePlan => ({ result: { errorCode, topics: [] }, deletions: [] });
  if (groupId === '') return refuse(ErrorCode.INVALID_GROUP_ID);
  if (group?.is('Dead')) return refuse(ErrorCode.GROUP_ID_NOT_FOUND);
  const active = group !== undefined && group.members.size > 0;
  if (!active && !offsets.hasGroup(groupId)) return refuse(ErrorCode.GROUP_ID_NOT_FOUND);
  if (active && group.protocolType !== CONSUMER_PROTOCOL_TYPE) return refuse(ErrorCode.NON_EMPTY_GROUP);
  const subscribed = active ? subscribedTopics(group) : new Set<string>();

  const deletions: TopicPartitionRef[] = [];
  const planned = new Map<string, Set<number>>();
  const result: OffsetDeleteResult = { errorCode: ErrorCode.NONE, topics: [] };
  for (const t of topics) {
    const keep = subscribed === null || subscribed.has(t.name);
    result.topics.push({
      name: t.name,
      partitions: t.partitions.map((partitionIndex) => {
        if (keep) return { partitionIndex, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC };
        if (offsets.get(groupId, t.name, partitionIndex) !== undefined) {
          let seen = planned.get(t.name);
          if (!seen) planned.set(t.name, (seen = new Set()));
          if (!seen.has(partitionIndex)) {
            seen.add(partitionIndex);
            deletions.push({ topic: t.name, partition: partitionIndex });
          }
        }
        return { partitionIndex, errorCode: ErrorCode.NONE };
      }),
    });
  }
  return { result, deletions };
}
