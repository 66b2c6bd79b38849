// The checks request handlers make, one small helper per kind of resource, so every handler asks the
// same way: the connection's principal and address, the operation, the resource. Kafka's KafkaApis
// decides per resource and answers per resource (TOPIC_AUTHORIZATION_FAILED for one topic, the rest
// served); the handlers do the same with these.
import type { RequestContext } from '../server/context.ts';
import { AclOperation, CLUSTER_NAME, ResourceType, operationName, resourceTypeName } from './acl.ts';

/** The client's address as ACL hosts name it: an IPv4 client on a dual-stack socket is its IPv4 address. */
function host(ctx: RequestContext): string {
  const address = ctx.conn.remoteAddress;
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/**
 * Whether this request's principal may do the operation on the resource. A denial is logged
 * (rate-limited) unless logIfDenied is false: Kafka does not log the topics Metadata merely leaves out.
 */
export function authorized(ctx: RequestContext, operation: number, resourceType: number, resourceName: string, logIfDenied = true): boolean {
  if (!ctx.authorizer.enabled) return true; // --authorizer none: nothing to decide
  const ok = ctx.authorizer.authorize({ principal: ctx.conn.principal, host: host(ctx), operation, resourceType, resourceName });
  if (!ok && logIfDenied) {
    ctx.warn(`denied ${ctx.conn.principal} from ${host(ctx)}: ${operationName(operation)} on ${resourceTypeName(resourceType)}:${resourceName} (${ctx.header.clientId ?? '-'})`);
  }
  return ok;
}

export const topicAllowed = (ctx: RequestContext, operation: number, topic: string, logIfDenied = true): boolean => authorized(ctx, operation, ResourceType.TOPIC, topic, logIfDenied);
export const groupAllowed = (ctx: RequestContext, operation: number, group: string, logIfDenied = true): boolean => authorized(ctx, operation, ResourceType.GROUP, group, logIfDenied);
export const clusterAllowed = (ctx: RequestContext, operation: number, logIfDenied = true): boolean => authorized(ctx, operation, ResourceType.CLUSTER, CLUSTER_NAME, logIfDenied);
export const transactionalIdAllowed = (ctx: RequestContext, operation: number, id: string): boolean => authorized(ctx, operation, ResourceType.TRANSACTIONAL_ID, id);

/** CreateTopics and auto-creation: CREATE on the cluster, or on the topic itself (Kafka's rule). */
export function createTopicAllowed(ctx: RequestContext, topic: string): boolean {
  return clusterAllowed(ctx, AclOperation.CREATE, false) || topicAllowed(ctx, AclOperation.CREATE, topic);
}

/** InitProducerId without a transactional id: IDEMPOTENT_WRITE on the cluster, or WRITE on some topic (KIP-679). */
export function idempotentWriteAllowed(ctx: RequestContext): boolean {
  if (clusterAllowed(ctx, AclOperation.IDEMPOTENT_WRITE, false)) return true;
  const ok = ctx.authorizer.authorizeAny({ principal: ctx.conn.principal, host: host(ctx), operation: AclOperation.WRITE, resourceType: ResourceType.TOPIC });
  if (!ok) ctx.warn(`denied ${ctx.conn.principal} from ${host(ctx)}: IDEMPOTENT_WRITE on the cluster and WRITE on every topic (${ctx.header.clientId ?? '-'})`);
  return ok;
}

export { AclOperation };
