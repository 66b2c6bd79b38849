/**
 * A topology file as parsed (schema.ts) turned into the Topology model: defaults filled in, field
 * types and values in one shape, and what each system produces derived from its ingress, sources
 * and rules (never declared twice).
 */
import { SCALAR_TYPES, type DataKind, type Emit, type FieldSpec, type FieldValue, type PayloadSize, type RecordRecipe, type ScalarField, type ScalarType, type SystemSpec, type Topology } from './model.ts';
import type { TopologyFile } from './schema.ts';

type RawField = TopologyFile['dataKinds'][number]['fields'][string];
type RawValue = string | number | boolean;

const EXPRESSION_ONLY = /^\$\{([\s\S]*)\}$/;

/** Does `${` ... `}` wrap the whole string, with no other `${` inside? */
function wholeExpression(text: string): string | undefined {
  const m = EXPRESSION_ONLY.exec(text.trim());
  if (!m) return undefined;
  return m[1].includes('${') ? undefined : m[1];
}

export function fieldValue(raw: RawValue): FieldValue {
  if (typeof raw !== 'string' || !raw.includes('${')) return { literal: raw };
  const whole = wholeExpression(raw);
  return whole !== undefined ? { expression: whole } : { expression: raw, template: true };
}

/** `when` and `forEach` are always expressions: `${x}` and `x` mean the same. */
export function bareExpression(raw: string): string {
  return wholeExpression(raw) ?? raw;
}

function scalarField(raw: unknown): ScalarField {
  if (typeof raw === 'string' && (SCALAR_TYPES as readonly string[]).includes(raw)) return { type: raw as ScalarType };
  return { type: 'enum', values: [...(raw as { enum: string[] }).enum] };
}

function fieldSpec(raw: RawField): FieldSpec {
  if (typeof raw === 'object' && raw !== null && 'list' in raw) {
    return {
      type: 'list',
      fields: Object.entries(raw.list).map(([name, spec]) => ({ name, spec: scalarField(spec) })),
      min: raw.min ?? 0,
      max: raw.max ?? 1000,
    };
  }
  return scalarField(raw);
}

function payload(raw: TopologyFile['dataKinds'][number]['payloadBytes']): PayloadSize | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw === 'number') return { bytes: raw };
  return raw;
}

function recipe(kind: string, raw: { let?: Record<string, RawValue>; fields?: Record<string, RawValue> }): RecordRecipe {
  return {
    kind,
    let: Object.entries(raw.let ?? {}).map(([name, v]) => ({ name, value: fieldValue(v) })),
    fields: Object.entries(raw.fields ?? {}).map(([name, v]) => ({ name, value: fieldValue(v) })),
  };
}

export function normalizeTopology(f: TopologyFile): Topology {
  const dataKinds: DataKind[] = f.dataKinds.map((k) => ({
    id: k.id,
    ...(k.description !== undefined ? { description: k.description } : {}),
    key: k.key,
    identity: k.identity ?? [k.key],
    fields: Object.entries(k.fields).map(([name, spec]) => ({ name, spec: fieldSpec(spec) })),
    ...(k.payloadBytes !== undefined ? { payload: payload(k.payloadBytes) } : {}),
    checks: (k.checks ?? []).map(bareExpression),
  }));
  const systems: SystemSpec[] = f.systems.map((s) => {
    const cost = s.costPerMessageUs ?? 0;
    const ingress = (s.ingress ?? []).map((i) => ({ ...recipe(i.kind, i), weight: i.weight ?? 1 }));
    const sources = (s.sources ?? []).map((src) => ({
      ...recipe(src.kind, src), everyMs: src.everyMs, records: src.records ?? 1, ...(src.times !== undefined ? { times: src.times } : {}),
    }));
    const rules = Object.entries(s.on ?? {}).map(([input, r]) => ({
      input,
      costUs: r.costUs ?? cost,
      delayMs: r.delayMs ?? 0,
      emit: (r.emit ?? []).map((e): Emit => ({
        ...recipe(e.kind, e),
        ...(e.when !== undefined ? { when: bareExpression(e.when) } : {}),
        ...(e.forEach !== undefined ? { forEach: bareExpression(e.forEach) } : {}),
      })),
    }));
    const produces = [...new Set([...ingress.map((i) => i.kind), ...sources.map((x) => x.kind), ...rules.flatMap((r) => r.emit.map((e) => e.kind))])];
    return {
      id: s.id,
      name: s.name,
      ...(s.description !== undefined ? { description: s.description } : {}),
      role: s.role ?? (ingress.length > 0 ? 'ingress' : 'service'),
      instances: s.instances ?? 1,
      joinsLate: s.joinsLate ?? false,
      costPerMessageUs: cost,
      produces,
      ingress,
      sources,
      rules,
      ...(s.lakeExport ? { lakeExport: s.lakeExport } : {}),
    };
  });
  return {
    name: f.name,
    ...(f.description !== undefined ? { description: f.description } : {}),
    constants: f.constants ?? {},
    dataKinds,
    systems,
    flows: (f.flows ?? []).map((fl) => ({ ...fl, legacy: { ...fl.legacy } })),
    defaults: {
      restTimeoutMs: f.defaults?.restTimeoutMs ?? 2000,
      restRetries: f.defaults?.restRetries ?? 2,
      amqpPrefetch: f.defaults?.amqpPrefetch ?? 50,
    },
    lake: { hub: { format: f.lake?.hub?.format ?? 'jsonl', partitionBy: f.lake?.hub?.partitionBy ?? ['topic', 'date'] } },
  };
}

/**
 * The file form of a Topology (the inverse of normalizeTopology), for writing a restricted
 * landscape to a file that system processes load.
 */
export function topologyToFile(t: Topology): TopologyFile {
  const rawField = (spec: FieldSpec): RawField => {
    if (spec.type === 'list') return { list: Object.fromEntries(spec.fields.map((f) => [f.name, rawScalar(f.spec)])), min: spec.min, max: spec.max };
    return rawScalar(spec);
  };
  const rawScalar = (spec: ScalarField): Exclude<RawField, { list: unknown }> => (spec.type === 'enum' ? { enum: [...spec.values] } : spec.type);
  const rawValue = (v: FieldValue): RawValue => (v.expression === undefined ? v.literal! : v.template ? v.expression : `\${${v.expression}}`);
  const block = (list: RecordRecipe['let']): Record<string, RawValue> | undefined =>
    list.length === 0 ? undefined : Object.fromEntries(list.map((x) => [x.name, rawValue(x.value)]));
  const clean = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  return clean({
    name: t.name,
    description: t.description,
    constants: Object.keys(t.constants).length > 0 ? (t.constants as Record<string, never>) : undefined,
    dataKinds: t.dataKinds.map((k) => clean({
      id: k.id,
      description: k.description,
      key: k.key,
      identity: [...k.identity],
      fields: Object.fromEntries(k.fields.map((f) => [f.name, rawField(f.spec)])),
      payloadBytes: k.payload === undefined ? undefined : 'bytes' in k.payload ? k.payload.bytes : { ...k.payload },
      checks: k.checks && k.checks.length > 0 ? [...k.checks] : undefined,
    })),
    systems: t.systems.map((s) => clean({
      id: s.id,
      name: s.name,
      description: s.description,
      role: s.role,
      instances: s.instances,
      joinsLate: s.joinsLate,
      costPerMessageUs: s.costPerMessageUs,
      ingress: s.ingress.length > 0 ? s.ingress.map((i) => clean({ kind: i.kind, weight: i.weight, let: block(i.let), fields: block(i.fields) })) : undefined,
      sources: s.sources.length > 0
        ? s.sources.map((x) => clean({ kind: x.kind, everyMs: x.everyMs, records: x.records, times: x.times, let: block(x.let), fields: block(x.fields) }))
        : undefined,
      on: s.rules.length > 0
        ? Object.fromEntries(s.rules.map((r) => [r.input, {
          costUs: r.costUs,
          delayMs: r.delayMs,
          emit: r.emit.map((e) => clean({ kind: e.kind, when: e.when, forEach: e.forEach, let: block(e.let), fields: block(e.fields) })),
        }]))
        : undefined,
      lakeExport: s.lakeExport ? { ...s.lakeExport } : undefined,
    })),
    flows: t.flows.map((f) => clean({ ...f, legacy: { ...f.legacy } })),
    defaults: { ...t.defaults },
    lake: { hub: { format: t.lake.hub.format, partitionBy: [...t.lake.hub.partitionBy] } },
  });
}
