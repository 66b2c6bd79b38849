import type { BrokerConfig } from '../config.ts';
import type { TopicStore } from '../topics.ts';
import type { GroupCoordinator } from '../group/index.ts';
import type { BrokerMetrics } from './metrics.ts';
import type { ProducerIdAllocator } from '../producer-ids.ts';
import type { ConnectionInfo, RequestHeaderInfo } from './connection.ts';
import type { FetchWaiters } from './handlers/fetch.ts';
import type { ClusterServices } from '../cluster/broker-node.ts';
import type { ResponseBudget } from './connection-limits.ts';
import type { Authorizer } from '../security/acl-store.ts';
import type { SaslSessions } from './sasl/session.ts';
import type { SaslMechanismRegistry } from './sasl/registry.ts';
import type { CredentialStore } from '../security/credentials.ts';
import type { DynamicBrokerConfigs } from '../dynamic-broker-config.ts';

export type { ClusterServices };

/** The broker's parts that request handlers use. */
export interface BrokerContext {
  config: BrokerConfig;
  topics: TopicStore;
  groups: GroupCoordinator;
  metrics: BrokerMetrics;
  producerIds: ProducerIdAllocator;
  /** Decides every request against the ACLs (allows everything with --authorizer none). */
  authorizer: Authorizer;
  /** Log lines about bad client input go here: rate-limited, so a flood cannot fill the disk. */
  warn(line: string): void;
  /** The address this node advertises to clients: given the connection, the one of the listener it arrived on (Kafka's behaviour). */
  self(conn?: ConnectionInfo): { host: string; port: number; listener?: string };
  /** Client authentication: SASL state per connection, the mechanisms offered and the SCRAM credentials. */
  security: BrokerSecurity;
  /** Cluster mode: metadata, coordinators and topic changes go through the controller quorum. Null on a single node. */
  cluster: ClusterServices | null;
  /** Response bytes queued across all connections: Fetch sizes its answer to the room left in it. */
  responses: ResponseBudget;
  /** The broker configs AlterConfigs may change at runtime (DescribeConfigs / AlterConfigs on a BROKER resource). */
  brokerConfigs: DynamicBrokerConfigs;
}

/** What SASL handlers and the credential APIs use (sasl/session.ts, security/credentials.ts). */
export interface BrokerSecurity {
  sessions: SaslSessions;
  mechanisms: SaslMechanismRegistry;
  credentials: CredentialStore;
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
