// Metadata in a cluster: the live brokers and every partition's leader, leader epoch, replicas and
// in-sync replicas, straight from the controller's committed metadata as this broker last applied
// it. Clients follow leaders from here; after a failover they see the new leader in the next answer.
import {
  defaultMetadataResponse,
  defaultMetadataResponsePartitions,
  defaultMetadataResponseTopics,
  type MetadataRequest,
  type MetadataResponse,
  type MetadataResponseTopics,
} from '../../protocol/generated/index.ts';
import { ErrorCode, KafkaError } from '../../protocol/errors.ts';
import { brokerEndpoint, liveBrokerIds, NO_LEADER, type MetadataState, type TopicState } from '../../cluster/metadata/index.ts';
import { OFFSETS_TOPIC } from '../../group/replicated-offset-store.ts';
import type { ClusterServices, RequestContext } from '../context.ts';

export async function clusterMetadata(req: MetadataRequest, ctx: RequestContext, cluster: ClusterServices): Promise<MetadataResponse> {
  const failed = (name: string, errorCode: number): MetadataResponseTopics => ({ ...defaultMetadataResponseTopics(), name, errorCode });
  let state = cluster.metadata();
  const topics: MetadataResponseTopics[] = [];
  if (state === null) {
    // Not registered yet: answer with this broker only, and ask clients to retry for topics.
    const self = ctx.self(ctx.conn);
    for (const requested of req.topics ?? []) topics.push(failed(requested.name ?? '', ErrorCode.LEADER_NOT_AVAILABLE));
    return { ...defaultMetadataResponse(), brokers: [{ nodeId: cluster.nodeId, host: self.host, port: self.port, rack: null }], clusterId: ctx.config.clusterId, controllerId: cluster.nodeId, topics };
  }
  if (req.topics === null) {
    for (const topic of state.topics.values()) topics.push(describe(state, topic));
  } else {
    for (const requested of req.topics) {
      const name = requested.name ?? '';
      let topic = state.topics.get(name);
      if (!topic && req.allowAutoTopicCreation && ctx.config.autoCreateTopics) {
        try {
          ctx.topics.validateCreate(name, ctx.config.defaultPartitions, {});
          await cluster.createTopic(name, ctx.config.defaultPartitions, Math.max(1, Math.min(3, liveBrokerIds(state).length)), {});
        } catch (err) {
          if (!(err instanceof KafkaError)) throw err;
          if (err.code !== ErrorCode.TOPIC_ALREADY_EXISTS) {
            topics.push(failed(name, err.code === ErrorCode.REQUEST_TIMED_OUT ? ErrorCode.LEADER_NOT_AVAILABLE : err.code));
            continue;
          }
        }
        state = cluster.metadata() ?? state;
        topic = state.topics.get(name);
        if (!topic) {
          topics.push(failed(name, ErrorCode.LEADER_NOT_AVAILABLE));
          continue;
        }
      }
      topics.push(topic ? describe(state, topic) : failed(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
    }
  }
  // Each broker at its endpoint on the listener this request arrived on; one without that listener is left out (as Kafka).
  const listener = ctx.self(ctx.conn).listener;
  const brokers = liveBrokerIds(state).flatMap((id) => {
    const b = state.brokers.get(id)!;
    const endpoint = b.brokerId === cluster.nodeId ? ctx.self(ctx.conn) : brokerEndpoint(b, listener);
    return endpoint ? [{ nodeId: b.brokerId, host: endpoint.host, port: endpoint.port, rack: null }] : [];
  });
  // Any broker takes admin requests and forwards them to the active controller, so clients are
  // pointed at this one (KRaft brokers answer with a broker id too: controllers are not reachable).
  return { ...defaultMetadataResponse(), brokers, clusterId: ctx.config.clusterId, controllerId: cluster.nodeId, topics };
}

function describe(state: MetadataState, topic: TopicState): MetadataResponseTopics {
  const live = (id: number): boolean => state.brokers.get(id)?.fenced === false;
  return {
    ...defaultMetadataResponseTopics(),
    name: topic.name,
    isInternal: topic.name === OFFSETS_TOPIC,
    partitions: topic.partitions.map((p) => ({
      ...defaultMetadataResponsePartitions(),
      errorCode: p.leader === NO_LEADER || !live(p.leader) ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
      partitionIndex: p.partition,
      leaderId: p.leader === NO_LEADER || !live(p.leader) ? -1 : p.leader,
      leaderEpoch: p.leaderEpoch,
      replicaNodes: [...p.replicas],
      isrNodes: [...p.isr],
      offlineReplicas: p.replicas.filter((r) => !live(r)),
    })),
  };
}
