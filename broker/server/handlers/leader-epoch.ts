import {
  defaultOffsetForLeaderEpochResponsePartitions,
  type OffsetForLeaderEpochRequest,
  type OffsetForLeaderEpochResponse,
  type OffsetForLeaderEpochResponsePartitions,
} from '../../protocol/generated/index.ts';
import { ErrorCode } from '../../protocol/errors.ts';
import type { Partition } from '../../topics.ts';
import type { RequestContext } from '../context.ts';
import { AclOperation, clusterAllowed, topicAllowed } from '../../security/acl-checks.ts';

/**
 * OffsetForLeaderEpoch (KIP-101, KIP-320): for each partition, the end offset of the requested leader epoch in this
 * leader's log, with Kafka's semantics (PartitionLog.endOffsetForEpoch): a follower truncates its log there after a
 * leader change, a consumer compares it with its position to detect truncation. As in Kafka's
 * Partition.lastOffsetForLeaderEpoch, a request carrying a current leader epoch (>= 0, v2+) is checked first: older
 * than the partition's epoch is FENCED_LEADER_EPOCH, newer is UNKNOWN_LEADER_EPOCH; then only the leader answers.
 */
export function handleOffsetForLeaderEpoch(req: OffsetForLeaderEpochRequest, ctx: RequestContext): OffsetForLeaderEpochResponse {
  // Kafka: CLUSTER_ACTION on the cluster (followers) or DESCRIBE on each topic (consumers).
  const replica = clusterAllowed(ctx, AclOperation.CLUSTER_ACTION, false);
  const decided = new Map<string, boolean>();
  const allowed = (topic: string): boolean => {
    if (!decided.has(topic)) decided.set(topic, replica || topicAllowed(ctx, AclOperation.DESCRIBE, topic));
    return decided.get(topic) === true;
  };
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((p) => {
        const out: OffsetForLeaderEpochResponsePartitions = { ...defaultOffsetForLeaderEpochResponsePartitions(), partition: p.partition };
        if (!allowed(t.topic)) return { ...out, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED };
        const partition = ctx.topics.partition(t.topic, p.partition);
        if (!partition) return { ...out, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
        const current = currentLeaderEpoch(partition);
        if (p.currentLeaderEpoch >= 0 && p.currentLeaderEpoch < current) return { ...out, errorCode: ErrorCode.FENCED_LEADER_EPOCH };
        if (p.currentLeaderEpoch > current) return { ...out, errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH };
        if (!((partition as { isLeader?: boolean }).isLeader ?? true)) return { ...out, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER };
        const { leaderEpoch, endOffset } = partition.log.endOffsetForEpoch(p.leaderEpoch);
        return { ...out, leaderEpoch, endOffset };
      }),
    })),
  };
}

/** The partition's leader epoch; a single node leads every partition at epoch 0. */
function currentLeaderEpoch(partition: Partition): number {
  return (partition as { leaderEpoch?: number }).leaderEpoch ?? 0;
}
