/**
 * Shared pieces of the legacy transports: the codec port (JSON/XML/CSV per record kind, built from
 * the landscape's data kinds), content types and file extensions per format, record validation,
 * backoff and small helpers.
 */
import type { DataFormat, DataKindId } from '../topology/model.ts';
import { decodeBatch, encodeBatch } from '../codecs/index.ts';
import type { RecordKinds } from '../model/kinds.ts';
import { measureCpu } from '../process/cpu-meter.ts';

/** One line (or element) of a payload that could not be turned into a record. */
export interface BadRecord {
  readonly line: number;
  readonly raw: string;
  readonly reason: string;
}

export interface DecodedBatch<R = unknown> {
  readonly records: R[];
  readonly bad: BadRecord[];
}

/**
 * The codec port: the transports name a kind by its id and stay format-generic; codecFor builds
 * the one every landscape uses. A test may inject another.
 */
export interface RecordCodec {
  encodeBatch(kind: DataKindId, format: DataFormat, records: readonly unknown[]): Buffer;
  decodeBatch(kind: DataKindId, format: DataFormat, buf: Buffer): DecodedBatch;
}

/**
 * systems/codecs over the landscape's data kinds: one record per line, validated on encode
 * (throws) and on decode (bad lines). A kind the landscape does not declare throws on encode and
 * is one bad entry on decode, so a receiver answers it like any other undecodable payload.
 * Its CPU counts as `serialization` (cpu-meter.ts), the codec's own checks of the layout included:
 * they are part of reading and writing the format, not the system's validation.
 */
export function codecFor(kinds: RecordKinds): RecordCodec {
  return {
    encodeBatch: (kind, format, records) => measureCpu('serialization', () => encodeBatch(kinds.get(kind), format, records as readonly Record<string, unknown>[])),
    decodeBatch: (kind, format, buf) => {
      if (!kinds.has(kind)) return { records: [], bad: [{ line: 0, raw: clip(buf.toString('utf8')), reason: `unknown data kind "${kind}"` }] };
      return measureCpu('serialization', () => decodeBatch(kinds.get(kind), format, buf));
    },
  };
}

/**
 * Checks one decoded record. Returns a reason when the record is invalid, undefined when it is fine.
 * A system passes its domain validation here; transports only route the verdict (400, DLQ, quarantine).
 */
export type RecordValidator = (kind: DataKindId, record: unknown) => string | undefined;

/**
 * Decodes a payload and runs the validator over every record; invalid records move to `bad`. The
 * validator's CPU counts as `rules`, as the system core's validation does (one section for the
 * whole batch, so a section's own cost stays small); decoding counts in the codec.
 */
export function decodeAndValidate<R>(codec: RecordCodec, kind: DataKindId, format: DataFormat, buf: Buffer,
  validate?: RecordValidator): DecodedBatch<R> {
  let decoded: DecodedBatch;
  try {
    decoded = codec.decodeBatch(kind, format, buf);
  } catch (e) {
    return { records: [], bad: [{ line: 0, raw: clip(buf.toString('utf8')), reason: `undecodable ${format}: ${errorText(e)}` }] };
  }
  if (!validate) return decoded as DecodedBatch<R>;
  return measureCpu('rules', () => {
    const records: R[] = [];
    const bad = [...decoded.bad];
    decoded.records.forEach((r, i) => {
      let reason: string | undefined;
      try {
        reason = validate(kind, r);
      } catch (e) {
        reason = `validator threw: ${errorText(e)}`;
      }
      if (reason === undefined) records.push(r as R);
      else bad.push({ line: i + 1, raw: clip(safeJson(r)), reason });
    });
    return { records, bad };
  });
}

export const CONTENT_TYPES: Readonly<Record<DataFormat, string>> = {
  json: 'application/json',
  xml: 'application/xml',
  csv: 'text/csv',
};

/** The format a Content-Type (or Accept) header names, if it names one of ours. */
export function formatOfContentType(header: string | undefined): DataFormat | undefined {
  const h = (header ?? '').toLowerCase();
  if (/\bjson\b/.test(h)) return 'json';
  if (/\bxml\b/.test(h)) return 'xml';
  if (/\bcsv\b/.test(h)) return 'csv';
  return undefined;
}

export const FILE_EXTENSIONS: Readonly<Record<DataFormat, string>> = { json: 'json', xml: 'xml', csv: 'csv' };

export interface BackoffOptions {
  /** First delay. */
  readonly initialMs: number;
  /** Cap on any delay. */
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 50, maxMs: 2_000 };

/** Exponential backoff with full jitter in [delay/2, delay]; attempt counts from 1. */
export function backoffDelayMs(attempt: number, b: BackoffOptions = DEFAULT_BACKOFF): number {
  const base = Math.min(b.maxMs, b.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base / 2 + Math.random() * (base / 2));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function clip(s: string, max = 2_000): string {
  return s.length > max ? `${s.slice(0, max)}…(${s.length - max} more chars)` : s;
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Running latency statistics with a fixed bucket histogram (upper bounds in ms, last is +Inf). */
export interface LatencyStats {
  count: number;
  sumMs: number;
  maxMs: number;
  readonly bucketsMs: readonly number[];
  /** counts[i] = observations <= bucketsMs[i]; the last entry counts the rest. Not cumulative. */
  readonly counts: number[];
}

const BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000];

export function newLatencyStats(): LatencyStats {
  return { count: 0, sumMs: 0, maxMs: 0, bucketsMs: BUCKETS_MS, counts: new Array<number>(BUCKETS_MS.length + 1).fill(0) };
}

export function observeLatency(s: LatencyStats, ms: number): void {
  s.count++;
  s.sumMs += ms;
  if (ms > s.maxMs) s.maxMs = ms;
  let i = s.bucketsMs.findIndex((b) => ms <= b);
  if (i < 0) i = s.bucketsMs.length;
  s.counts[i]++;
}

/** An approximate quantile (upper bucket bound) from the histogram; undefined when empty. */
export function latencyQuantileMs(s: LatencyStats, q: number): number | undefined {
  if (s.count === 0) return undefined;
  const target = Math.ceil(q * s.count);
  let seen = 0;
  for (let i = 0; i < s.counts.length; i++) {
    seen += s.counts[i];
    if (seen >= target) return i < s.bucketsMs.length ? s.bucketsMs[i] : s.maxMs;
  }
  return s.maxMs;
}

/** A deep copy safe to hand out (counters must not be mutated by readers). */
export function snapshotOf<T>(v: T): T {
  return structuredClone(v);
}
