/**
 * Canonical records: the layout-independent form of what is in the lake, so that the same
 * business outcome gives the same canonical set whether it was exported legacy-style (many
 * systems, many formats) or written by the hub's sink. A record carries its kind's id and its
 * identity within the kind (the kind's identity fields joined by '/', see RecordKind.idOf).
 */
import { createHash } from 'node:crypto';
import type { RecordKind } from '../model/kinds.ts';

export interface CanonicalRecord {
  /** The data kind id (order, risk-score, …). */
  kind: string;
  /** The record's identity within its kind. */
  id: string;
  body: Record<string, unknown>;
}

export function toCanonical(kind: RecordKind, body: Record<string, unknown>): CanonicalRecord {
  return { kind: kind.id, id: kind.idOf(body), body };
}

/** JSON with object keys sorted at every level (arrays keep their order). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The canonical string of one record: {"body":{…sorted…},"kind":"…"}. */
export function canonicalString(r: CanonicalRecord): string {
  return canonicalJson({ kind: r.kind, body: r.body });
}

export interface CanonicalSet {
  /** Canonical strings, sorted; duplicates are kept (a duplicated record shows twice). */
  lines: string[];
  /** sha256 (hex) of the lines joined by '\n'. */
  sha256: string;
  count: number;
}

export function canonicalSet(records: readonly CanonicalRecord[]): CanonicalSet {
  const lines = records.map(canonicalString).sort();
  const hash = createHash('sha256');
  lines.forEach((l, i) => hash.update(i === 0 ? l : `\n${l}`));
  return { lines, sha256: hash.digest('hex'), count: lines.length };
}
