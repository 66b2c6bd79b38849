/**
 * The expected outcome of a run: propagate the roots (the ingress events the landscape accepted,
 * and the ticks its scheduled sources fired) through the landscape's declared rules along its
 * flows, and collect every record that must exist (per kind) and every record each system must
 * have received (per system and input kind). The rules are the ones the systems run
 * (systems/model/), so the oracle cannot drift from the landscape it checks.
 */
import { modelOf, RecipeError, type LandscapeModel } from '../model/landscape-model.ts';
import type { Topology } from '../topology/model.ts';
import { toCanonical, type CanonicalRecord } from '../lake/canonical.ts';

/** A scheduled source that fired ticks 1..ticks (a system says so in its state). */
export interface SourceTicks {
  readonly system: string;
  /** The source's index in the system's sources. */
  readonly source: number;
  readonly ticks: number;
}

export interface OracleRoots {
  /** What the load sent to the ingress, in order: the kind and the raw record of each event. */
  readonly ingress?: readonly { kind: string; record: unknown }[];
  readonly sources?: readonly SourceTicks[];
  /** The run's seed (source records are made from it). */
  readonly seed?: number;
}

export interface ExpectedOutcome {
  /** Every record the landscape must produce that reaches the lake, in production order. */
  records: CanonicalRecord[];
  /** The same, per kind and record id. */
  byKind: Map<string, Map<string, CanonicalRecord>>;
  /** What each system must have received: system → input kind → record ids. */
  received: Map<string, Map<string, Set<string>>>;
  /** The flows into each system and input kind: system → input kind → flow ids. */
  flowsInto: Map<string, Map<string, string[]>>;
  /** The root each record descends from: `${kind}\u0000${id}` → the root's key (see rootKey). */
  rootOf: Map<string, string>;
  /** Ingress events accepted (distinct ids). */
  accepted: number;
  /** Ingress events refused (invalid), and repeated ids (counted once, as a retry would be). */
  rejected: { index: number; reason: string }[];
  /** Rules that failed on a record (the record is dead-lettered by the system too). */
  ruleErrors: { system: string; reason: string }[];
}

export interface ExpectedOptions {
  /**
   * The layout whose lake is checked: in the legacy layout only systems with a lake export put
   * records into the lake; in the hub layout every produced record reaches it. Default hub.
   */
  layout?: 'legacy' | 'hub';
}

/** The key of a root: `ingress:<kind>/<id>` or `source:<system>/<index>/<tick>`. */
export function ingressRootKey(kind: string, id: string): string {
  return `ingress:${kind}/${id}`;
}
export function sourceRootKey(system: string, source: number, tick: number): string {
  return `source:${system}/${source}/${tick}`;
}

export const recordKey = (kind: string, id: string): string => `${kind}\u0000${id}`;

const RULE_ERRORS_MAX = 1_000;

export function expectedOutcome(topology: Topology, roots: OracleRoots, opts: ExpectedOptions = {}): ExpectedOutcome {
  const model: LandscapeModel = modelOf(topology);
  const ingressSystem = model.ingressSystem?.id;
  const lakeProducers = new Set(topology.systems.filter((s) => opts.layout !== 'legacy' || s.lakeExport).map((s) => s.id));
  const out: ExpectedOutcome = { records: [], byKind: new Map(), received: new Map(), flowsInto: new Map(), rootOf: new Map(), accepted: 0, rejected: [], ruleErrors: [] };
  const outgoing = new Map<string, { to: string; data: string }[]>(); // "from/kind" → flows
  for (const fl of topology.flows) {
    const key = `${fl.from}\u0000${fl.data}`;
    outgoing.set(key, [...(outgoing.get(key) ?? []), { to: fl.to, data: fl.data }]);
    nested(out.flowsInto, fl.to, fl.data, () => [] as string[]).push(fl.id);
    nested(out.received, fl.to, fl.data, () => new Set<string>());
  }
  const handled = new Set<string>(); // producer/kind/id already followed
  const queue: { kind: string; record: Record<string, unknown>; id: string; producer: string }[] = [];
  let root = '';
  const emit = (kind: string, record: Record<string, unknown>, producer: string): void => {
    const k = model.kinds.get(kind);
    const id = k.idOf(record);
    let ofKind = out.byKind.get(kind);
    if (!ofKind) out.byKind.set(kind, (ofKind = new Map()));
    const rk = recordKey(kind, id);
    if (!out.rootOf.has(rk)) out.rootOf.set(rk, root);
    if (!ofKind.has(id) && lakeProducers.has(producer)) {
      const c = toCanonical(k, record);
      ofKind.set(id, c);
      out.records.push(c);
    }
    const followed = `${producer}\u0000${kind}\u0000${id}`;
    if (handled.has(followed)) return;
    handled.add(followed);
    queue.push({ kind, record, id, producer });
  };
  // Follow one root's cascade to the end before the next root: the queue stays small.
  const drain = (): void => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      for (const fl of outgoing.get(`${next.producer}\u0000${next.kind}`) ?? []) {
        nested(out.received, fl.to, fl.data, () => new Set<string>()).add(next.id);
        const rule = model.behaviour(fl.to).rule(next.kind);
        if (!rule) continue;
        try {
          for (const r of rule.apply(next.record)) emit(r.kind, r.record, fl.to);
        } catch (err) {
          if (!(err instanceof RecipeError)) throw err;
          if (out.ruleErrors.length < RULE_ERRORS_MAX) out.ruleErrors.push({ system: fl.to, reason: err.message });
        }
      }
    }
  };

  const seen = new Set<string>();
  (roots.ingress ?? []).forEach((event, index) => {
    if (!ingressSystem) throw new Error(`topology ${topology.name} has no ingress system`);
    const v = model.kinds.validate(event.kind, event.record);
    if (!v.ok) return void out.rejected.push({ index, reason: v.reason });
    const id = model.kinds.idOf(event.kind, v.record);
    const key = recordKey(event.kind, id);
    if (seen.has(key)) return void out.rejected.push({ index, reason: `repeated ${event.kind} ${id}: counted once` });
    seen.add(key);
    out.accepted++;
    root = ingressRootKey(event.kind, id);
    emit(event.kind, v.record, ingressSystem);
    drain();
  });
  for (const src of roots.sources ?? []) {
    for (let tick = 1; tick <= src.ticks; tick++) {
      root = sourceRootKey(src.system, src.source, tick);
      for (const r of model.sourceRecords(src.system, src.source, tick, roots.seed ?? 0)) emit(r.kind, r.record, src.system);
      drain();
    }
  }
  return out;
}

export function nested<V>(m: Map<string, Map<string, V>>, a: string, b: string, make: () => V): V {
  let inner = m.get(a);
  if (!inner) m.set(a, (inner = new Map()));
  let v = inner.get(b);
  if (v === undefined) inner.set(b, (v = make()));
  return v;
}
