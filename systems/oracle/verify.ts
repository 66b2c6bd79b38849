/**
 * Compares what a run produced (the lake read back, and optionally what each system says it
 * received) with the expected outcome, and says exactly what arrived, what was lost, what was
 * duplicated, what was not expected at all, and what arrived with different content.
 */
import { canonicalString, type CanonicalRecord } from '../lake/canonical.ts';
import type { ExpectedOutcome } from './expected.ts';

export interface Discrepancies {
  /** Distinct records expected. */
  expected: number;
  /** Distinct expected records found at least once. */
  present: number;
  /** Expected but never found (ids, sorted). */
  lost: string[];
  /** Found more than once, with how often. */
  duplicated: { id: string; count: number }[];
  /** Found but not expected (ids, sorted). */
  unexpected: string[];
  /** Expected and found, but with different content (lake only; ids, sorted). */
  mismatched: string[];
}

export interface KindReport extends Discrepancies {
  kind: string;
}

export interface ReceiverReport extends Discrepancies {
  system: string;
  inputKind: string;
  /** The flows that feed this system with this kind (empty for an unexpected receiver). */
  flows: string[];
}

export interface Totals {
  expected: number;
  present: number;
  lost: number;
  /** Records found more than once. */
  duplicated: number;
  /** Extra copies beyond the first, over all duplicated records. */
  extraCopies: number;
  unexpected: number;
  mismatched: number;
}

export interface VerifyReport {
  ok: boolean;
  kinds: KindReport[];
  receivers: ReceiverReport[];
  totals: { lake: Totals; received: Totals | null };
}

export interface ActualOutcome {
  lake: readonly CanonicalRecord[];
  /** system → input kind → ids of the records it received. */
  received?: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;
}

const sorted = (ids: Iterable<string>): string[] => [...ids].sort();

function compare(expected: ReadonlyMap<string, string | null>, actual: ReadonlyMap<string, string[]>): Discrepancies {
  const d: Discrepancies = { expected: expected.size, present: 0, lost: [], duplicated: [], unexpected: [], mismatched: [] };
  for (const [id, want] of expected) {
    const got = actual.get(id);
    if (!got) d.lost.push(id);
    else {
      d.present++;
      if (want !== null && got.some((g) => g !== want)) d.mismatched.push(id);
    }
  }
  for (const [id, got] of actual) {
    if (got.length > 1) d.duplicated.push({ id, count: got.length });
    if (!expected.has(id)) d.unexpected.push(id);
  }
  d.lost.sort();
  d.mismatched.sort();
  d.unexpected.sort();
  d.duplicated.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return d;
}

function total(list: readonly Discrepancies[]): Totals {
  const t: Totals = { expected: 0, present: 0, lost: 0, duplicated: 0, extraCopies: 0, unexpected: 0, mismatched: 0 };
  for (const d of list) {
    t.expected += d.expected;
    t.present += d.present;
    t.lost += d.lost.length;
    t.duplicated += d.duplicated.length;
    t.extraCopies += d.duplicated.reduce((a, x) => a + x.count - 1, 0);
    t.unexpected += d.unexpected.length;
    t.mismatched += d.mismatched.length;
  }
  return t;
}

const clean = (t: Totals | null) => !t || (t.lost === 0 && t.duplicated === 0 && t.unexpected === 0 && t.mismatched === 0);

export function verify(expected: ExpectedOutcome, actual: ActualOutcome): VerifyReport {
  // The lake, per kind: id → canonical string (expected) / every copy found (actual).
  const actualByKind = new Map<string, Map<string, string[]>>();
  for (const r of actual.lake) {
    let m = actualByKind.get(r.kind);
    if (!m) actualByKind.set(r.kind, (m = new Map()));
    const id = r.id;
    const copies = m.get(id);
    if (copies) copies.push(canonicalString(r));
    else m.set(id, [canonicalString(r)]);
  }
  const kinds = sorted(new Set([...expected.byKind.keys(), ...actualByKind.keys()])).map((kind): KindReport => {
    const want = new Map<string, string | null>();
    for (const [id, c] of expected.byKind.get(kind) ?? []) want.set(id, canonicalString(c));
    return { kind, ...compare(want, actualByKind.get(kind) ?? new Map()) };
  });

  // What each system received: ids only, so no content comparison.
  let receivers: ReceiverReport[] = [];
  if (actual.received) {
    const pairs = new Set<string>();
    for (const [sys, m] of expected.received) for (const k of m.keys()) pairs.add(`${sys}\u0000${k}`);
    for (const [sys, m] of actual.received) for (const k of m.keys()) pairs.add(`${sys}\u0000${k}`);
    receivers = sorted(pairs).map((pair): ReceiverReport => {
      const [system, inputKind] = pair.split('\u0000');
      const want = new Map<string, string | null>();
      for (const id of expected.received.get(system)?.get(inputKind) ?? []) want.set(id, null);
      const got = new Map<string, string[]>();
      for (const id of actual.received?.get(system)?.get(inputKind) ?? []) {
        const copies = got.get(id);
        if (copies) copies.push(id);
        else got.set(id, [id]);
      }
      const flows = expected.flowsInto.get(system)?.get(inputKind) ?? [];
      return { system, inputKind, flows, ...compare(want, got) };
    });
  }
  const totals = { lake: total(kinds), received: actual.received ? total(receivers) : null };
  return { ok: clean(totals.lake) && clean(totals.received), kinds, receivers, totals };
}

function ids(list: readonly string[], max: number): string {
  if (list.length === 0) return '';
  const shown = list.slice(0, max).join(', ');
  return list.length > max ? `${shown}, … (+${list.length - max})` : shown;
}

function line(label: string, d: Discrepancies, idsMax: number): string[] {
  const out = [`${label}: ${d.present}/${d.expected} present, ${d.lost.length} lost, ${d.duplicated.length} duplicated, ${d.unexpected.length} unexpected, ${d.mismatched.length} mismatched`];
  if (d.lost.length) out.push(`    lost: ${ids(d.lost, idsMax)}`);
  if (d.duplicated.length) out.push(`    duplicated: ${ids(d.duplicated.map((x) => `${x.id}×${x.count}`), idsMax)}`);
  if (d.unexpected.length) out.push(`    unexpected: ${ids(d.unexpected, idsMax)}`);
  if (d.mismatched.length) out.push(`    mismatched: ${ids(d.mismatched, idsMax)}`);
  return out;
}

/** Human-readable text of a VerifyReport, listing at most `idsMax` ids per problem. */
export function formatVerifyReport(r: VerifyReport, idsMax = 10): string {
  const out = [`verification ${r.ok ? 'OK' : 'FAILED'}`];
  const t = (x: Totals) =>
    `${x.present}/${x.expected} present, ${x.lost} lost, ${x.duplicated} duplicated (${x.extraCopies} extra copies), ${x.unexpected} unexpected, ${x.mismatched} mismatched`;
  out.push(`lake: ${t(r.totals.lake)}`);
  for (const k of r.kinds) out.push(...line(`  ${k.kind}`, k, idsMax));
  if (r.totals.received) {
    out.push(`received: ${t(r.totals.received)}`);
    for (const x of r.receivers) out.push(...line(`  ${x.system} <- ${x.inputKind} (${x.flows.join(', ') || 'no flow'})`, x, idsMax));
  }
  return out.join('\n');
}
