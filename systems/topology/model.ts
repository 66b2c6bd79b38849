/**
 * The declarative topology of a landscape: its data kinds (fields, key, identity, payload size),
 * its systems and what each one does with what it receives (rules), what it originates (ingress
 * records, scheduled sources), how many copies of it run, and which data flows where. Both layouts
 * (legacy point-to-point and hub) are derived from one Topology, so they do the same business work,
 * and the oracle derives every expected record from the same rules. Loaded and validated by
 * load.ts; its expressions are compiled by systems/model/.
 */

/** A system id: a letter, then letters, digits, '_' or '-' (A, C2, webshop, core-banking). */
export type SystemId = string;
/** A data kind id: lower-case kebab case (order, risk-score). In the hub layout one topic each. */
export type DataKindId = string;

export const SYSTEM_ROLES = ['ingress', 'service', 'sink'] as const;
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

/** Scalar field types: text, whole numbers (safe integers), any finite number, true/false. */
export const SCALAR_TYPES = ['string', 'int', 'number', 'bool'] as const;
export type ScalarType = (typeof SCALAR_TYPES)[number];

/** The field that carries a kind's filler when it declares a payload size (see PayloadSize). */
export const PADDING_FIELD = 'padding';

export type ScalarField = { readonly type: ScalarType } | { readonly type: 'enum'; readonly values: readonly string[] };
/** A list of small records (order items, reservation lines): scalar sub-fields only. */
export interface ListField {
  readonly type: 'list';
  readonly fields: readonly { readonly name: string; readonly spec: ScalarField }[];
  readonly min: number;
  readonly max: number;
}
export type FieldSpec = ScalarField | ListField;

export interface FieldDecl {
  readonly name: string;
  readonly spec: FieldSpec;
}

/**
 * The size a record of a kind has on the wire as JSON: a fixed number of bytes, a uniform range or a
 * normal distribution (cut at 0 and at the limit). Records are filled up to it with a `padding`
 * field whose text is derived from the record's identity, so every layout carries the same bytes.
 */
export type PayloadSize =
  | { readonly bytes: number }
  | { readonly min: number; readonly max: number }
  | { readonly mean: number; readonly sd: number };

export interface DataKind {
  readonly id: DataKindId;
  readonly description?: string;
  /** The field every record of this kind carries as its message key (e.g. orderId). */
  readonly key: string;
  /** The fields that identify one record of this kind (default: the key); joined by '/'. */
  readonly identity: readonly string[];
  /** In declaration order (CSV columns and XML elements follow it). */
  readonly fields: readonly FieldDecl[];
  readonly payload?: PayloadSize;
  /**
   * Conditions every record of the kind must meet beyond its field types (a total that adds up,
   * an amount that is not negative): CEL expressions over its fields. A record that fails one is
   * refused with the condition in the reason, as one of the wrong type is.
   */
  readonly checks?: readonly string[];
}

/** A system's own batch export to the lake in the legacy layout, in its own format. */
export interface LakeExport {
  readonly format: DataFormat;
  readonly scheduleMs: number;
}

/**
 * An expression: text in the Common Expression Language, written in the file as `${...}` (or, for
 * `when` and `forEach`, bare). A field value that is not an expression is a literal.
 */
export interface FieldValue {
  /** The literal value, or undefined when `expression` is set. */
  readonly literal?: string | number | boolean;
  /** A CEL expression, or a template with ${...} parts (then `template` is true). */
  readonly expression?: string;
  readonly template?: boolean;
}

/** One kind of record a rule, a source or the ingress makes, with how each field is set. */
export interface RecordRecipe {
  readonly kind: DataKindId;
  /** Named intermediate values, evaluated in order before the fields. */
  readonly let: readonly { readonly name: string; readonly value: FieldValue }[];
  /** Fields set explicitly, in order; a field of the kind not listed is copied from the input. */
  readonly fields: readonly { readonly name: string; readonly value: FieldValue }[];
}

export interface Emit extends RecordRecipe {
  /** Emit only when this is true. */
  readonly when?: string;
  /** Emit one record per element of this list (`item` and `index` in the expressions). */
  readonly forEach?: string;
}

/** What a system does with one received record of one kind. */
export interface Rule {
  readonly input: DataKindId;
  /** CPU cost of handling one record, as a busy loop, in microseconds (default: the system's). */
  readonly costUs: number;
  /** Wall-clock time the system takes before it emits (a slow back end), in milliseconds. */
  readonly delayMs: number;
  readonly emit: readonly Emit[];
}

/** What the ingress system takes from outside: records of a kind, generated by the load. */
export interface IngressSpec extends RecordRecipe {
  /** Share of the ingress traffic when there are several ingress kinds. */
  readonly weight: number;
}

/** A system emitting on a schedule (a nightly master-data export, a periodic price update). */
export interface SourceSpec extends RecordRecipe {
  readonly everyMs: number;
  /** Records per tick. */
  readonly records: number;
  /** At most this many ticks (absent: as long as the system runs). */
  readonly times?: number;
}

export interface SystemSpec {
  readonly id: SystemId;
  readonly name: string;
  readonly description?: string;
  readonly role: SystemRole;
  /** How many copies of the system run as processes. */
  readonly instances: number;
  /** Added to a running landscape by the onboarding scenario rather than present from the start. */
  readonly joinsLate: boolean;
  /** The default CPU cost per handled record, in microseconds. */
  readonly costPerMessageUs: number;
  /** Data kinds this system originates or emits (derived from ingress, sources and rules). */
  readonly produces: readonly DataKindId[];
  readonly ingress: readonly IngressSpec[];
  readonly sources: readonly SourceSpec[];
  readonly rules: readonly Rule[];
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
  /** Named values every expression can use (lists, maps, numbers, strings). */
  readonly constants: Readonly<Record<string, unknown>>;
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

/** The one ingress system of a topology (validation guarantees there is exactly one). */
export function ingressSystem(t: Topology): SystemSpec {
  const s = t.systems.find((x) => x.role === 'ingress');
  if (!s) throw new Error(`topology ${t.name} has no ingress system`);
  return s;
}

export function kindOf(t: Topology, id: DataKindId): DataKind {
  const k = t.dataKinds.find((x) => x.id === id);
  if (!k) throw new Error(`topology ${t.name} has no data kind "${id}"`);
  return k;
}

/** The process names of a system's instances: its id alone, or `<id>.1`, `<id>.2`, ... */
export function instanceNames(s: Pick<SystemSpec, 'id' | 'instances'>): string[] {
  return s.instances <= 1 ? [s.id] : Array.from({ length: s.instances }, (_, i) => `${s.id}.${i + 1}`);
}

/** The system a process name belongs to (`B.2` -> `B`), or the name itself. */
export function systemOfInstance(name: string): string {
  const m = /^(.+)\.(\d+)$/.exec(name);
  return m ? m[1] : name;
}
