// Which partitions of one OffsetCommit are stored and which are refused, and why: a pure decision
// over the request and what the offset store already holds, so the coordinator only carries it out.
//
// In Kafka's order: a partition of a topic that does not exist (or outside its partition count) is
// refused with UNKNOWN_TOPIC_OR_PARTITION before anything else (KafkaApis checks its metadata
// cache); then the group's own verdict (generation, member) applies to the rest; then metadata
// longer than offset.metadata.max.bytes is refused with OFFSET_METADATA_TOO_LARGE. Kafka has no
// limit on how much a group stores beyond topic existence; this broker adds three, each answered
// with INVALID_COMMIT_OFFSET_SIZE (Kafka's error for a commit too large to store, non-retriable in
// kafkajs and librdkafka): the groups holding offsets, the committed partitions per group, and a
// broker-wide budget of estimated bytes. A partition listed twice counts once; the last one wins.
import { ErrorCode } from '../protocol/errors.ts';
import { offsetEntryBytes, type OffsetEntry, type OffsetStore } from './offset-store.ts';
import { quoteGroupId as quote, type OffsetCommitRequest } from './types.ts';

export interface OffsetCommitLimits {
  maxGroups: number;
  maxOffsetMetadataBytes: number;
  maxOffsetsPerGroup: number;
  offsetsBudgetBytes: number;
}

/** What the decision reads from the store. */
export type OffsetStoreView = Pick<OffsetStore, 'get' | 'hasGroup' | 'groupCount' | 'offsetCount' | 'estimatedBytes'>;

export interface OffsetCommitPlan {
  /** Per topic and partition of the request, in its order: the error, or NONE for partitions in `entries` (2 bytes each: a request may list millions). */
  codes: Int16Array[];
  /** What to store: one entry per distinct partition accepted, the last one listed. */
  entries: OffsetEntry[];
  /** Why a broker limit refused partitions, for the operator; undefined when none did. */
  warning?: string;
}

/**
 * Decides one OffsetCommit. `groupError` is the coordinator's verdict on the committer (generation,
 * member id; NONE when it may commit).
 */
export function planOffsetCommit(req: OffsetCommitRequest, groupError: number, limits: OffsetCommitLimits, store: OffsetStoreView, nowMs: number): OffsetCommitPlan {
  const codes: Int16Array[] = [];
  // Distinct partitions that passed every per-partition check, in request order, with every place they were listed.
  const candidates = new Map<string, Map<number, { entry: OffsetEntry; at: [number, number][] }>>();
  req.topics.forEach((t, ti) => {
    const out = new Int16Array(t.partitions.length);
    codes.push(out);
    t.partitions.forEach((p, pi) => {
      if (p.partitionIndex < 0 || p.partitionIndex >= t.partitionCount) out[pi] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      else if (groupError !== ErrorCode.NONE) out[pi] = groupError;
      else if (p.committedMetadata !== null && p.committedMetadata.length > limits.maxOffsetMetadataBytes) out[pi] = ErrorCode.OFFSET_METADATA_TOO_LARGE;
      else {
        out[pi] = ErrorCode.NONE;
        let byPartition = candidates.get(t.name);
        if (!byPartition) candidates.set(t.name, (byPartition = new Map()));
        const entry: OffsetEntry = {
          topic: t.name,
          partition: p.partitionIndex,
          offset: p.committedOffset,
          leaderEpoch: p.committedLeaderEpoch,
          metadata: p.committedMetadata ?? '',
          commitTimestampMs: nowMs,
        };
        const seen = byPartition.get(p.partitionIndex);
        if (seen) {
          seen.entry = entry;
          seen.at.push([ti, pi]);
        } else {
          byPartition.set(p.partitionIndex, { entry, at: [[ti, pi]] });
        }
      }
    });
  });
  if (candidates.size === 0) return { codes, entries: [] };

  const refuse = (at: [number, number][]): void => {
    for (const [ti, pi] of at) codes[ti][pi] = ErrorCode.INVALID_COMMIT_OFFSET_SIZE;
  };
  const groupId = req.groupId;
  if (!store.hasGroup(groupId) && store.groupCount() >= limits.maxGroups) {
    let refused = 0;
    for (const byPartition of candidates.values()) {
      for (const c of byPartition.values()) {
        refuse(c.at);
        refused++;
      }
    }
    return { codes, entries: [], warning: `OffsetCommit for group ${quote(groupId)} refused ${refused} partition(s): ${store.groupCount()} groups hold offsets, the most allowed (max-groups ${limits.maxGroups})` };
  }
  const entries: OffsetEntry[] = [];
  let count = store.offsetCount(groupId);
  let bytes = store.estimatedBytes();
  let overGroup = 0;
  let overBudget = 0;
  for (const byPartition of candidates.values()) {
    for (const c of byPartition.values()) {
      const old = store.get(groupId, c.entry.topic, c.entry.partition);
      const extraBytes = offsetEntryBytes(c.entry.metadata) - (old ? offsetEntryBytes(old.metadata) : 0);
      if (!old && count >= limits.maxOffsetsPerGroup) {
        refuse(c.at);
        overGroup++;
      } else if (extraBytes > 0 && bytes + extraBytes > limits.offsetsBudgetBytes) {
        refuse(c.at);
        overBudget++;
      } else {
        entries.push(c.entry);
        if (!old) count++;
        bytes += extraBytes;
      }
    }
  }
  const reasons: string[] = [];
  if (overGroup > 0) reasons.push(`${overGroup} new partition(s) over the group's limit of ${limits.maxOffsetsPerGroup} committed offsets (max-offsets-per-group)`);
  if (overBudget > 0) reasons.push(`${overBudget} partition(s) over the broker's ${limits.offsetsBudgetBytes}-byte budget for committed offsets, ${store.estimatedBytes()} bytes held (offsets-budget-bytes)`);
  return { codes, entries, warning: reasons.length > 0 ? `OffsetCommit for group ${quote(groupId)} refused ${reasons.join(' and ')}` : undefined };
}
