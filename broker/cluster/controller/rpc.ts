// The broker -> controller RPC protocol: requests, responses and error codes, shared by the
// controller (which checks every request against these schemas) and ControllerClient.
//
//   request:  {id, op, timeoutMs?, args}     id: chosen by the client, echoed in the response
//   response: {id, result} | {id, error: {code, message, leaderId?}}
//
// A connection starts with the authenticated handshake of auth.ts, naming the broker it acts for
// ({kind: 'broker', brokerId}) or the voter it is ({kind: 'raft', from}; its frames are then Raft
// messages, see raft-wire.ts).
import { z } from 'zod';
import { aclBindingSchema, brokerListenersSchema, configNameSchema, MAX_REPLICATED_ACLS, MAX_SECURITY_CHANGES, scramCredentialSchema, scramMechanismSchema, topicNameSchema, type MetadataErrorCode, type PartitionState } from '../metadata/index.ts';
import type { AclBinding } from '../../security/acl.ts';

export type ControllerErrorCode =
  | MetadataErrorCode
  /** This controller is not the active one; `leaderId` names the one it knows of (or null). */
  | 'NOT_CONTROLLER'
  /** No majority of controllers: nothing can be committed (the message says how many are reachable). */
  | 'NO_QUORUM'
  /** A bound was hit (queued proposals, pending requests, long polls); retry later. */
  | 'BUSY'
  | 'INVALID_REQUEST'
  /** The client gave up waiting for a controller that had taken the request. */
  | 'TIMEOUT'
  /** The client was closed. */
  | 'CLOSED'
  /** The request speaks for a broker other than the one the connection authenticated as. */
  | 'CLUSTER_AUTHORIZATION_FAILED'
  | 'INTERNAL_ERROR';

/** A failed controller request, on both sides of the wire. */
export class ControllerError extends Error {
  constructor(
    readonly code: ControllerErrorCode,
    message: string,
    /** With NOT_CONTROLLER: the active controller this one knows of. */
    readonly leaderId: number | null = null,
  ) {
    super(message);
    this.name = 'ControllerError';
  }
}

/** Longest wait a fetchMetadata long poll may ask for. */
export const MAX_LONG_POLL_MS = 60_000;
/** Longest a request may ask the controller to work on it. */
export const MAX_REQUEST_TIMEOUT_MS = 120_000;

const brokerId = z.number().int().min(0).max(2 ** 31 - 1);
const nonNegInt = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);


export const registerArgs = z.strictObject({
  brokerId,
  host: z.string().min(1).max(255),
  port: z.number().int().min(1).max(65535),
  /** Every listener (name, endpoint, security protocol); the first is host:port. */
  listeners: brokerListenersSchema.optional(),
  incarnationId: z.string().min(1).max(64),
});
export const heartbeatArgs = z.strictObject({ brokerId, epoch: nonNegInt });
export const createTopicArgs = z.strictObject({
  name: topicNameSchema,
  partitions: z.number().int().min(1).max(100_000),
  /** -1: the controller's default (min(3, live brokers) unless configured). */
  replicationFactor: z.number().int().min(-1).max(64).refine((n) => n !== 0, 'replication factor must be -1 (default) or 1..64'),
  configs: z.record(configNameSchema, z.string().max(4096)),
});
export const deleteTopicArgs = z.strictObject({ name: topicNameSchema });
/** Grow a topic to `count` partitions. */
export const createPartitionsArgs = z.strictObject({ name: topicNameSchema, count: z.number().int().min(1).max(100_000) });
export const alterTopicConfigArgs = z.strictObject({ name: topicNameSchema, configs: z.record(configNameSchema, z.string().max(4096).nullable()) });
export const alterPartitionArgs = z.strictObject({
  topic: topicNameSchema,
  partition: nonNegInt,
  leader: brokerId,
  leaderEpoch: nonNegInt,
  isr: z.array(brokerId).min(1).max(64),
  partitionEpoch: nonNegInt,
});
export const fetchMetadataArgs = z.strictObject({
  /** The offset the client already has; -1 for none (answered at once). */
  sinceOffset: z.number().int().min(-1).max(Number.MAX_SAFE_INTEGER),
  maxWaitMs: z.number().int().min(0).max(MAX_LONG_POLL_MS),
});

export const describeQuorumArgs = z.strictObject({});

/**
 * Security metadata, forwarded by the broker that took the client's request once it has checked the
 * client's authorisation there (ALTER on the cluster), as Kafka's brokers forward these to the
 * controller. The controller applies them as metadata records (metadata/security.ts).
 */
export const alterScramCredentialsArgs = z.strictObject({
  changes: z.array(z.strictObject({ user: z.string().min(1).max(256), mechanism: scramMechanismSchema, credential: scramCredentialSchema.nullable() })).min(1).max(MAX_SECURITY_CHANGES),
});
export const createAclsArgs = z.strictObject({ acls: z.array(aclBindingSchema).min(1).max(MAX_SECURITY_CHANGES), maxAcls: z.number().int().min(0).max(MAX_REPLICATED_ACLS) });
const aclFilterSchema = aclBindingSchema.extend({ resourceName: aclBindingSchema.shape.resourceName.nullable(), principal: aclBindingSchema.shape.principal.nullable(), host: aclBindingSchema.shape.host.nullable() });
export const deleteAclsArgs = z.strictObject({ filters: z.array(aclFilterSchema).min(1).max(1_000) });

const envelope = { id: nonNegInt, timeoutMs: z.number().int().min(1).max(MAX_REQUEST_TIMEOUT_MS).optional() };
export const requestSchema = z.discriminatedUnion('op', [
  z.strictObject({ ...envelope, op: z.literal('register'), args: registerArgs }),
  z.strictObject({ ...envelope, op: z.literal('heartbeat'), args: heartbeatArgs }),
  z.strictObject({ ...envelope, op: z.literal('createTopic'), args: createTopicArgs }),
  z.strictObject({ ...envelope, op: z.literal('deleteTopic'), args: deleteTopicArgs }),
  z.strictObject({ ...envelope, op: z.literal('createPartitions'), args: createPartitionsArgs }),
  z.strictObject({ ...envelope, op: z.literal('alterTopicConfig'), args: alterTopicConfigArgs }),
  z.strictObject({ ...envelope, op: z.literal('alterPartition'), args: alterPartitionArgs }),
  z.strictObject({ ...envelope, op: z.literal('fetchMetadata'), args: fetchMetadataArgs }),
  z.strictObject({ ...envelope, op: z.literal('describeQuorum'), args: describeQuorumArgs }),
  z.strictObject({ ...envelope, op: z.literal('alterScramCredentials'), args: alterScramCredentialsArgs }),
  z.strictObject({ ...envelope, op: z.literal('createAcls'), args: createAclsArgs }),
  z.strictObject({ ...envelope, op: z.literal('deleteAcls'), args: deleteAclsArgs }),
]);

export type ControllerRequest = z.infer<typeof requestSchema>;
export type ControllerOp = ControllerRequest['op'];
export type RegisterRequest = z.infer<typeof registerArgs>;
export type HeartbeatRequest = z.infer<typeof heartbeatArgs>;
export type CreateTopicRequest = z.infer<typeof createTopicArgs>;
export type AlterPartitionRequest = z.infer<typeof alterPartitionArgs>;
export type FetchMetadataRequest = z.infer<typeof fetchMetadataArgs>;

export interface RegisterResult {
  /** The broker's new epoch: the Raft index of its registration, greater than any earlier one. */
  readonly epoch: number;
  /** The cluster's timing, so every broker uses the controller's settings. */
  readonly brokerHeartbeatIntervalMs: number;
  readonly brokerSessionTimeoutMs: number;
  readonly replicaLagTimeMaxMs: number;
}
export interface HeartbeatResult {
  readonly fenced: boolean;
  /** Offset of the committed metadata the active controller holds. */
  readonly metadataOffset: number;
}
export interface OkResult {
  readonly ok: true;
}
export interface AlterPartitionResult {
  readonly partition: PartitionState;
}
export interface FetchMetadataResult {
  readonly offset: number;
  /** The whole metadata state in snapshot.ts form. */
  readonly snapshot: string;
}

export interface DescribeQuorumResult {
  /** The active controller (the one answering). */
  readonly leaderId: number;
  readonly term: number;
  readonly voters: readonly number[];
  /** Voters the active controller has a connection to, itself included. */
  readonly reachable: readonly number[];
  readonly metadataOffset: number;
}

export interface ResultOf {
  register: RegisterResult;
  heartbeat: HeartbeatResult;
  createTopic: OkResult;
  deleteTopic: OkResult;
  createPartitions: OkResult;
  alterTopicConfig: OkResult;
  alterPartition: AlterPartitionResult;
  fetchMetadata: FetchMetadataResult;
  describeQuorum: DescribeQuorumResult;
  alterScramCredentials: OkResult;
  createAcls: OkResult;
  /** Per filter, the bindings it removed. */
  deleteAcls: { readonly removed: AclBinding[][] };
}

export type ArgsOf<Op extends ControllerOp> = Extract<ControllerRequest, { op: Op }>['args'];

export interface WireError {
  readonly code: ControllerErrorCode;
  readonly message: string;
  readonly leaderId?: number | null;
}

/** A zod error on one line, for log lines and error messages. */
export function describeZodError(error: z.ZodError): string {
  return z.prettifyError(error).replace(/\s*\n\s*/g, ' ');
}

export const responseSchema = z.union([
  z.strictObject({ id: nonNegInt, result: z.record(z.string(), z.unknown()) }),
  z.strictObject({
    id: nonNegInt,
    error: z.strictObject({ code: z.string().min(1).max(64), message: z.string().max(64 * 1024), leaderId: brokerId.nullable().optional() }),
  }),
]);
