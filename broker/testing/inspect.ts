// The inspection and reset API of a running broker (RunningBroker.records, committedOffsets, reset): what a test of
// Kafka code asks of the broker directly, without a client and its timing (a consumer's rebalance, its fetch wait):
// which records a topic holds, which offsets a group committed, and a clean slate between tests.
import { ErrorCode } from '../protocol/errors.ts';
import type { GroupCoordinator } from '../group/coordinator.ts';
import type { TopicStore } from '../topics.ts';
import { decodeBatches, type InspectedRecord } from './records.ts';

export type { InspectedRecord } from './records.ts';

/** One committed offset of a group. */
export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: number;
  metadata: string;
}

/** Bytes read from the log per step: the read returns whole batches, at least one even when larger. */
const READ_STEP_BYTES = 1 << 20;

/**
 * Every record of `topic` from the log start to the high watermark (what a read_committed-agnostic consumer from the
 * beginning would get), partition by partition in offset order; only `partition` when given. Throws for an unknown
 * topic or partition, and for an offline one.
 */
export function topicRecords(topics: TopicStore, topic: string, partition?: number): InspectedRecord[] {
  const t = topics.get(topic);
  if (!t) throw new Error(`topic "${topic}" does not exist (topics: ${[...topics.all()].map((x) => x.name).join(', ') || 'none'})`);
  if (partition !== undefined && !t.partitions[partition]) throw new Error(`topic "${topic}" has no partition ${partition} (it has ${t.partitions.length})`);
  const out: InspectedRecord[] = [];
  for (const p of partition === undefined ? t.partitions : [t.partitions[partition]]) {
    if (p.offline) throw new Error(`${topic}-${p.index} is offline: ${p.offline}`);
    const end = p.highWatermark;
    for (let offset = p.log.logStartOffset; offset < end; ) {
      const read = p.log.read(offset, READ_STEP_BYTES, true, end);
      if (read.chunks.length === 0) break;
      const before = offset;
      for (const chunk of read.chunks) {
        for (const r of decodeBatches(chunk, topic, p.index)) {
          if (r.offset >= offset && r.offset < end) out.push(r);
          if (r.offset >= offset) offset = r.offset + 1;
        }
      }
      if (offset === before) break; // nothing past `offset` below the high watermark (a control batch at the end)
    }
  }
  return out;
}

/** The offsets `groupId` committed, by topic then partition; [] for a group that committed none. */
export function committedOffsets(groups: GroupCoordinator, groupId: string): CommittedOffset[] {
  const answer = groups.fetchOffsets(groupId, null);
  if (answer.errorCode !== ErrorCode.NONE) throw new Error(`the group coordinator refused to list ${groupId}'s offsets (error ${answer.errorCode})`);
  return answer.topics
    .flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, metadata: p.metadata ?? '' })))
    .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

/**
 * Deletes every topic and every group with its committed offsets. Groups must have no members (disconnect the
 * consumers first, as Kafka's DeleteGroups requires): a group that still has some is named in the error, and
 * nothing of it is deleted.
 */
export async function resetBroker(topics: TopicStore, groups: GroupCoordinator): Promise<void> {
  const busy = groups.listGroups().filter((g) => g.groupState !== 'Empty' && g.groupState !== 'Dead').map((g) => `${g.groupId} (${g.groupState})`);
  if (busy.length > 0) throw new Error(`reset(): group(s) ${busy.join(', ')} still have members; disconnect their consumers first`);
  for (const t of [...topics.all()]) {
    await topics.delete(t.name);
    await groups.deleteTopicOffsets(t.name);
  }
  const refused = groups.deleteGroups(groups.listGroups().map((g) => g.groupId)).filter((r) => r.errorCode !== ErrorCode.NONE && r.errorCode !== ErrorCode.GROUP_ID_NOT_FOUND);
  if (refused.length > 0) throw new Error(`reset(): could not delete group(s) ${refused.map((r) => `${r.groupId} (error ${r.errorCode})`).join(', ')}`);
}
