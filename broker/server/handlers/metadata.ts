import {
  defaultApiVersionsResponse,
  defaultFindCoordinatorResponse,
  defaultMetadataResponse,
  defaultMetadataResponsePartitions,
  defaultMetadataResponseTopics,
  type ApiVersionsResponse,
  type FindCoordinatorRequest,
  type FindCoordinatorResponse,
  type MetadataRequest,
  type MetadataResponse,
  type MetadataResponseTopics,
} from '../../protocol/generated/index.ts';
import { ErrorCode, KafkaError } from '../../protocol/errors.ts';
import { ADVERTISED_API_VERSIONS } from '../api-versions.ts';
import type { Topic } from '../../topics.ts';
import type { RequestContext } from '../context.ts';
import { clusterMetadata } from './cluster-metadata.ts';
import { AclOperation, clusterAllowed, groupAllowed, topicAllowed, transactionalIdAllowed } from '../../security/acl-checks.ts';

export function handleApiVersions(_req: unknown, _ctx: RequestContext): ApiVersionsResponse {
  return {
    ...defaultApiVersionsResponse(),
    apiKeys: [...ADVERTISED_API_VERSIONS].map(([apiKey, r]) => ({ apiKey, minVersion: r.min, maxVersion: r.max })),
  };
}

/**
 * Metadata: this node is every partition's leader and the controller. A null topic list means all
 * topics, an empty one none (v1+). Unknown topics are created when the client allows it and the
 * broker's policy does; otherwise they get UNKNOWN_TOPIC_OR_PARTITION.
 */
export async function handleMetadata(req: MetadataRequest, ctx: RequestContext): Promise<MetadataResponse> {
  const answer = (allowed: MetadataRequest): Promise<MetadataResponse> => (ctx.cluster ? clusterMetadata(allowed, ctx, ctx.cluster) : localMetadata(allowed, ctx));
  return ctx.authorizer.enabled ? authorizedMetadata(req, ctx, answer) : answer(req);
}

/**
 * Metadata under ACLs, as Kafka's KafkaApis: all-topics requests leave out the topics the principal
 * may not DESCRIBE; a named topic it may not describe, or an unknown one it would auto-create without
 * CREATE on the cluster or the topic, gets TOPIC_AUTHORIZATION_FAILED (never revealing whether it exists).
 */
async function authorizedMetadata(req: MetadataRequest, ctx: RequestContext, answer: (allowed: MetadataRequest) => Promise<MetadataResponse>): Promise<MetadataResponse> {
  if (req.topics === null) {
    const res = await answer(req);
    return { ...res, topics: res.topics.filter((t) => topicAllowed(ctx, AclOperation.DESCRIBE, t.name ?? '', false)) };
  }
  const exists = (name: string): boolean => (ctx.cluster ? (ctx.cluster.metadata()?.topics.has(name) ?? false) : ctx.topics.get(name) !== undefined);
  const autoCreate = req.allowAutoTopicCreation && ctx.config.autoCreateTopics && !clusterAllowed(ctx, AclOperation.CREATE, false);
  const refused = new Set<string>();
  const passed = req.topics.filter((t) => {
    const name = t.name ?? '';
    const ok = topicAllowed(ctx, AclOperation.DESCRIBE, name) && !(autoCreate && !exists(name) && !topicAllowed(ctx, AclOperation.CREATE, name));
    if (!ok) refused.add(name);
    return ok;
  });
  const res = await answer({ ...req, topics: passed });
  const answered = new Map(res.topics.map((t) => [t.name ?? '', t]));
  const topics = req.topics.map((t) => {
    const name = t.name ?? '';
    const failed = (errorCode: number): MetadataResponseTopics => ({ ...defaultMetadataResponseTopics(), name, errorCode });
    return refused.has(name) ? failed(ErrorCode.TOPIC_AUTHORIZATION_FAILED) : (answered.get(name) ?? failed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
  });
  return { ...res, topics };
}

async function localMetadata(req: MetadataRequest, ctx: RequestContext): Promise<MetadataResponse> {
  const self = ctx.self(ctx.conn);
  const nodeId = ctx.config.nodeId;
  const topics: MetadataResponseTopics[] = [];
  const failed = (name: string, errorCode: number): MetadataResponseTopics => ({ ...defaultMetadataResponseTopics(), name, errorCode });
  const describe = (topic: Topic): MetadataResponseTopics => ({
    ...defaultMetadataResponseTopics(),
    name: topic.name,
    partitions: topic.partitions.map((p) => ({
      ...defaultMetadataResponsePartitions(),
      partitionIndex: p.index,
      leaderId: nodeId,
      leaderEpoch: 0,
      replicaNodes: [nodeId],
      isrNodes: [nodeId],
    })),
  });

  if (req.topics === null) {
    for (const topic of ctx.topics.all()) topics.push(describe(topic));
  } else {
    for (const requested of req.topics) {
      const name = requested.name ?? '';
      let topic = ctx.topics.get(name);
      if (!topic && req.allowAutoTopicCreation && ctx.config.autoCreateTopics) {
        try {
          topic = await ctx.topics.create(name, ctx.config.defaultPartitions, {});
        } catch (err) {
          if (!(err instanceof KafkaError)) throw err;
          topic = ctx.topics.get(name); // created meanwhile by a concurrent request
          if (!topic) {
            topics.push(failed(name, err.code));
            continue;
          }
        }
      }
      if (topic) topics.push(describe(topic));
      else topics.push(failed(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
    }
  }
  return {
    ...defaultMetadataResponse(),
    brokers: [{ nodeId, host: self.host, port: self.port, rack: null }],
    clusterId: ctx.config.clusterId,
    controllerId: nodeId,
    topics,
  };
}

/** FindCoordinator: this node coordinates every group. Transactions are not supported. */
export async function handleFindCoordinator(req: FindCoordinatorRequest, ctx: RequestContext): Promise<FindCoordinatorResponse> {
  const self = ctx.self(ctx.conn);
  const denied = (errorCode: number): FindCoordinatorResponse => ({ ...defaultFindCoordinatorResponse(), errorCode, errorMessage: `${ctx.conn.principal} may not describe "${req.key}"`, nodeId: -1, host: '', port: -1 });
  if (req.keyType === 0 && !groupAllowed(ctx, AclOperation.DESCRIBE, req.key)) return denied(ErrorCode.GROUP_AUTHORIZATION_FAILED);
  if (req.keyType === 1 && !transactionalIdAllowed(ctx, AclOperation.DESCRIBE, req.key)) return denied(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  if (req.keyType !== 0) {
    return { ...defaultFindCoordinatorResponse(), errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'only group coordinators (key type 0) are supported; transactions are not', nodeId: -1, port: -1 };
  }
  if (ctx.cluster) {
    const found = await ctx.cluster.findCoordinator(req.key, self.listener);
    if ('errorCode' in found) return { ...defaultFindCoordinatorResponse(), errorCode: found.errorCode, errorMessage: found.message, nodeId: -1, host: '', port: -1 };
    return { ...defaultFindCoordinatorResponse(), nodeId: found.nodeId, host: found.host, port: found.port };
  }
  return { ...defaultFindCoordinatorResponse(), nodeId: ctx.config.nodeId, host: self.host, port: self.port };
}
