import type { BrokerConfig } from '../config.ts';
import type { TopicStore } from '../topics.ts';
import type { GroupCoordinator } from '../group/index.ts';
import type { BrokerMetrics } from './metrics.ts';
import type { ProducerIdAllocator } from '../producer-ids.ts';
import type { ConnectionInfo, RequestHeaderInfo } from './connection.ts';
import type { FetchWaiters } from './handlers/fetch.ts';
import type { ClusterServices } from '../cluster/broker-node.ts';

export type { ClusterServices };

/** The broker's parts that request handlers use. */
export interface BrokerContext {
  config: BrokerConfig;
  topics: TopicStore;
  groups: GroupCoordinator;
  metrics: BrokerMetrics;
  producerIds: ProducerIdAllocator;
  /** Log lines about bad client input go here: rate-limited, so a flood cannot fill the disk. */
  warn(line: string): void;
  /** The address this node advertises to clients. */
  self(): { host: string; port: number };
  /** Cluster mode: metadata, coordinators and topic changes go through the controller quorum. Null on a single node. */
  cluster: ClusterServices | null;
}

export interface RequestContext extends BrokerContext {
  header: RequestHeaderInfo;
  conn: ConnectionInfo;
  fetchWaiters: FetchWaiters;
}

/** A handler returns the response body, or null when no response is sent (acks=0 Produce). */
export type Handler = (request: unknown, ctx: RequestContext) => Promise<object | null> | object | null;

/** Registers a handler written against its generated request type. */
export function typed<Req>(fn: (request: Req, ctx: RequestContext) => Promise<object | null> | object | null): Handler {
  return fn as unknown as Handler;
}
