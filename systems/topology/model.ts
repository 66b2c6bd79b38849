/**
 * The declarative topology of a landscape: which systems exist, which kinds of business data they
 * originate, and which data flows where. Both layouts (legacy point-to-point and hub) are derived
 * from one Topology, so they do the same business work. Loaded and validated by load.ts.
 */

/** A system id: an upper-case letter, then upper-case letters or digits (A, B, C2). */
export type SystemId = string;
/** A data kind id: lower-case kebab case (order, risk-score). In the hub layout one topic each. */
export type DataKindId = string;

export const SYSTEM_ROLES = ['ingress', 'service'] as const;
export type SystemRole = (typeof SYSTEM_ROLES)[number];

/** How a flow travels in the legacy layout. */
export const LEGACY_TRANSPORTS = ['rest-sync', 'rest-poll', 'amqp', 'batch'] as const;
export type LegacyTransport = (typeof LEGACY_TRANSPORTS)[number];

/** Payload formats of the legacy layout. */
export const DATA_FORMATS = ['json', 'xml', 'csv'] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];

/** Transports that run on a schedule and therefore need `scheduleMs`. */
export const SCHEDULED_TRANSPORTS: readonly LegacyTransport[] = ['batch', 'rest-poll'];
/** Transports that are HTTP requests and therefore may set `retries` and `timeoutMs`. */
export const REST_TRANSPORTS: readonly LegacyTransport[] = ['rest-sync', 'rest-poll'];

export const LAKE_FILE_FORMATS = ['jsonl'] as const;
export type LakeFileFormat = (typeof LAKE_FILE_FORMATS)[number];
export const LAKE_PARTITION_KEYS = ['topic', 'date', 'hour'] as const;
export type LakePartitionKey = (typeof LAKE_PARTITION_KEYS)[number];

export interface DataKind {
  readonly id: DataKindId;
  readonly description?: string;
  /** The field every record of this kind carries as its message key (e.g. orderId). */
  readonly key: string;
}

/** A system's own batch export to the lake in the legacy layout, in its own format. */
export interface LakeExport {
  readonly format: DataFormat;
  readonly scheduleMs: number;
}

export interface SystemSpec {
  readonly id: SystemId;
  readonly name: string;
  readonly description?: string;
  readonly role: SystemRole;
  /** Added to a running landscape by the onboarding scenario rather than present from the start. */
  readonly joinsLate: boolean;
  /** CPU cost of handling one message, as a busy loop, in microseconds. */
  readonly costPerMessageUs: number;
  /** Data kinds this system originates (its own data). */
  readonly produces: readonly DataKindId[];
  /** Absent: the system exports nothing to the lake in the legacy layout. */
  readonly lakeExport?: LakeExport;
}

export interface LegacyWiring {
  readonly transport: LegacyTransport;
  readonly format: DataFormat;
  /** batch: how often files are picked up; rest-poll: how often the receiver polls. Only those. */
  readonly scheduleMs?: number;
  /** rest-sync and rest-poll only; absent means defaults.restRetries. */
  readonly retries?: number;
  /** rest-sync and rest-poll only; absent means defaults.restTimeoutMs. */
  readonly timeoutMs?: number;
  /** amqp only; absent means defaults.amqpPrefetch. */
  readonly prefetch?: number;
}

export interface Flow {
  readonly id: string;
  /** The sending system (for rest-poll: the system being polled). */
  readonly from: SystemId;
  /** The receiving system (for rest-sync: the system being called). */
  readonly to: SystemId;
  readonly data: DataKindId;
  readonly purpose?: string;
  readonly legacy: LegacyWiring;
}

export interface TopologyDefaults {
  readonly restTimeoutMs: number;
  readonly restRetries: number;
  readonly amqpPrefetch: number;
}

export interface HubLakeSink {
  readonly format: LakeFileFormat;
  readonly partitionBy: readonly LakePartitionKey[];
}

export interface Topology {
  readonly name: string;
  readonly description?: string;
  readonly dataKinds: readonly DataKind[];
  readonly systems: readonly SystemSpec[];
  readonly flows: readonly Flow[];
  readonly defaults: TopologyDefaults;
  readonly lake: { readonly hub: HubLakeSink };
}

/** The REST policy of a rest-sync or rest-poll flow, with the topology's defaults filled in. */
export function restPolicy(t: Topology, flow: Flow): { timeoutMs: number; retries: number } {
  return {
    timeoutMs: flow.legacy.timeoutMs ?? t.defaults.restTimeoutMs,
    retries: flow.legacy.retries ?? t.defaults.restRetries,
  };
}

/** The AMQP prefetch of an amqp flow, with the topology's default filled in. */
export function amqpPrefetch(t: Topology, flow: Flow): number {
  return flow.legacy.prefetch ?? t.defaults.amqpPrefetch;
}
