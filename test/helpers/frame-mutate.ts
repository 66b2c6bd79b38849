// Seeded mutations of well-formed request frames, for the million-frame malformed-input test.
// Templates: for every API and version the broker advertises, a message built from the generated
// schema (test/protocol/sample.ts, with values and with nulls), plus realistic requests against a
// real topic and group. Mutations: bit flips, truncation, length and count fields set huge or
// negative, random spans, inserted and deleted bytes, apiKey and version rewritten, whole random
// frames; some templates go out unmutated, interleaved. Everything comes from one seed.
import { ADVERTISED_API_VERSIONS } from '../../broker/server/api-versions.ts';
import { API_SCHEMAS } from '../../broker/protocol/generated/index.ts';
import { MESSAGE_DESCRIPTIONS } from '../../broker/protocol/generated/schemas.ts';
import { encodeRequest } from '../../broker/protocol/frame.ts';
import { sampleMessage, type SampleMode } from '../protocol/sample.ts';
import { validTemplates } from './frame-fuzz.ts';
import { Writer, encodeRecordBatch } from './kafka-wire.ts';

/**
 * mulberry32: a tiny seeded generator, so a failing run can be replayed from its printed seed
 * (node:crypto has no seeded generator; Math.random cannot be seeded).
 */
export class Rng {
  private state: number;
  constructor(seed: number) { this.state = seed >>> 0; }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number { return Math.floor(this.next() * n); }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]; }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

/** A well-formed request: header (v1 or v2) and body, without the size prefix. */
export interface Template { apiKey: number; version: number; origin: 'schema' | 'realistic'; frame: Buffer }

/** The frame of a template, with its correlation id set (header bytes 4..8). */
function withCorrelation(frame: Buffer, correlationId: number): Buffer {
  frame.writeInt32BE(correlationId, 4);
  return frame;
}

/** Every advertised (API, version) from its schema, in both sample modes; and the realistic requests. */
export function requestTemplates(topic: string, group: string): { templates: Template[]; apis: number[]; missing: string[] } {
  const templates: Template[] = [];
  const missing: string[] = [];
  let correlation = 1;
  for (const [apiKey, range] of ADVERTISED_API_VERSIONS) {
    const description = MESSAGE_DESCRIPTIONS.find((m) => m.kind === 'request' && m.apiKey === apiKey);
    if (!description || !API_SCHEMAS.has(apiKey)) {
      missing.push(`api ${apiKey}: no generated request schema`);
      continue;
    }
    for (let version = range.min; version <= range.max; version++) {
      for (const mode of ['values', 'nulls'] as SampleMode[]) {
        try {
          const frame = encodeRequest(apiKey, version, correlation++, 'fuzz', sampleMessage(description, version, mode).input as object).subarray(4);
          templates.push({ apiKey, version, origin: 'schema', frame });
        } catch (err) {
          missing.push(`api ${apiKey} v${version} ${mode}: ${(err as Error).message}`);
        }
      }
    }
  }
  const realistic = [...validTemplates(topic), ...groupTemplates(topic, group)];
  for (const frame of realistic) {
    templates.push({ apiKey: frame.readInt16BE(0), version: frame.readInt16BE(2), origin: 'realistic', frame: withCorrelation(Buffer.from(frame), correlation++) });
  }
  return { templates, apis: [...ADVERTISED_API_VERSIONS.keys()], missing };
}

const request = (apiKey: number, version: number, body: Writer): Buffer => {
  const head = new Writer().int16(apiKey).int16(version).int32(0).string('fuzz').toBuffer();
  return Buffer.concat([head, body.toBuffer()]);
};

/** Requests real clients send about a group and topics, at the versions they send them (header v1). */
function groupTemplates(topic: string, group: string): Buffer[] {
  const batch = encodeRecordBatch([{ key: 'k', value: 'fuzz-value' }]);
  return [
    request(8, 7, new Writer().string(group).int32(-1).string('').string(null)
      .array([topic], (w, t) => w.string(t).array([0], (pw, p) => pw.int32(p).int64(5).int32(-1).string('meta')))),
    request(11, 5, new Writer().string(group).int32(10_000).int32(30_000).string('').string(null).string('consumer')
      .array(['range'], (w, p) => w.string(p).bytes(Buffer.from([0, 1, 0, 0, 0, 1, 0, topic.length, ...Buffer.from(topic), 0, 0, 0, 0])))),
    request(12, 3, new Writer().string(group).int32(1).string('member-x').string(null)),
    request(13, 3, new Writer().string(group).array(['member-x'], (w, m) => w.string(m).string(null))),
    request(14, 3, new Writer().string(group).int32(1).string('member-x').string(null).array([], () => undefined)),
    request(15, 0, new Writer().array([group], (w, g) => w.string(g))),
    request(16, 0, new Writer()),
    request(42, 0, new Writer().array([`${group}-other`], (w, g) => w.string(g))),
    // CreateTopics v4 and CreatePartitions v1 with validateOnly: mutations that clear it create for real (bounded by max-topics).
    request(19, 4, new Writer().array(['fuzz-created'], (w, t) => w.string(t).int32(1).int16(1).array([], () => undefined).array([], () => undefined)).int32(1000).bool(true)),
    request(37, 1, new Writer().array([topic], (w, t) => w.string(t).int32(2).array(null, () => undefined)).int32(1000).bool(true)),
    request(20, 1, new Writer().array(['fuzz-doomed'], (w, t) => w.string(t)).int32(1000)),
    request(32, 2, new Writer().array([topic], (w, t) => w.int8(2).string(t).array(null, () => undefined)).bool(false)),
    request(23, 3, new Writer().int32(-1).array([topic], (w, t) => w.string(t).array([0], (pw, p) => pw.int32(p).int32(-1).int32(0)))),
    request(0, 3, new Writer().string(null).int16(1).int32(1000).array([topic], (w, t) => w.string(t).array([0], (pw, p) => pw.int32(p).bytes(batch)))),
  ];
}

export type MutationKind =
  | 'unmutated' | 'bit-flip' | 'truncate' | 'length-huge' | 'length-negative' | 'count-huge' | 'random-span'
  | 'insert' | 'delete' | 'api-key' | 'version' | 'random-frame' | 'empty';

const WEIGHTS: readonly [MutationKind, number][] = [
  ['unmutated', 4], ['bit-flip', 22], ['truncate', 12], ['length-huge', 10], ['length-negative', 8], ['count-huge', 10],
  ['random-span', 10], ['insert', 5], ['delete', 5], ['api-key', 5], ['version', 6], ['random-frame', 3], ['empty', 0.2],
];
const TOTAL_WEIGHT = WEIGHTS.reduce((a, [, w]) => a + w, 0);
const HEADER_FIXED = 8; // apiKey, apiVersion, correlationId

function kindOf(rng: Rng): MutationKind {
  let x = rng.next() * TOTAL_WEIGHT;
  for (const [kind, w] of WEIGHTS) if ((x -= w) < 0) return kind;
  return 'bit-flip';
}

/** A position to overwrite `width` bytes at, past the fixed header when the frame allows. */
function spot(rng: Rng, length: number, width: number): number {
  const from = length > HEADER_FIXED + width ? HEADER_FIXED : 0;
  return from + rng.int(Math.max(1, length - width - from + 1));
}

/** One mutation of `t` (a fresh buffer; `t` is left alone). */
export function mutate(rng: Rng, t: Template, apis: readonly number[]): { kind: MutationKind; frame: Buffer } {
  const kind = kindOf(rng);
  const src = t.frame;
  let f: Buffer = Buffer.from(src);
  switch (kind) {
    case 'unmutated':
      break;
    case 'bit-flip':
      for (let n = 1 + rng.int(4); n > 0; n--) { const p = rng.int(f.length); f[p] ^= 1 << rng.int(8); }
      break;
    case 'truncate':
      f = f.subarray(0, rng.int(f.length));
      break;
    case 'length-huge': {
      const width = rng.pick([1, 2, 4, 5]);
      if (f.length < width) break;
      const p = spot(rng, f.length, width);
      if (width === 1) f[p] = 0xff;
      else if (width === 2) f.writeInt16BE(rng.pick([0x7fff, 0x4000, 0x1000]), p);
      else if (width === 4) f.writeInt32BE(rng.pick([0x7fffffff, 0x40000000, 0x00ffffff]), p);
      else Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]).copy(f, p); // an unsigned varint near 2^32
      break;
    }
    case 'length-negative': {
      const width = rng.pick([2, 4]);
      if (f.length < width) break;
      const p = spot(rng, f.length, width);
      if (width === 2) f.writeInt16BE(rng.pick([-2, -1, -32768, -100]), p);
      else f.writeInt32BE(rng.pick([-2, -1, -2147483648, -65536]), p);
      break;
    }
    case 'count-huge':
      if (f.length >= 4) f.writeInt32BE(rng.pick([0x7fffffff, 1 << 28, 1_000_000, 65_536, 10_001]), spot(rng, f.length, 4));
      break;
    case 'random-span': {
      const n = Math.min(f.length, 1 + rng.int(16));
      rng.bytes(n).copy(f, spot(rng, f.length, n));
      break;
    }
    case 'insert': {
      const p = rng.int(f.length + 1);
      f = Buffer.concat([f.subarray(0, p), rng.bytes(1 + rng.int(8)), f.subarray(p)]);
      break;
    }
    case 'delete': {
      const p = rng.int(Math.max(1, f.length));
      f = Buffer.concat([f.subarray(0, p), f.subarray(p + 1 + rng.int(8))]);
      break;
    }
    case 'api-key':
      if (f.length >= 2) f.writeInt16BE(rng.next() < 0.7 ? rng.pick(apis) : rng.int(65536) - 32768, 0);
      break;
    case 'version':
      if (f.length >= 4) f.writeInt16BE(rng.pick([-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 17, 100, 32767, -32768]), 2);
      break;
    case 'random-frame':
      f = rng.bytes(rng.int(300));
      break;
    case 'empty':
      f = Buffer.alloc(0);
      break;
  }
  return { kind, frame: f };
}

/** A frame with its size prefix. */
export function sized(frame: Buffer): Buffer {
  const b = Buffer.allocUnsafe(4 + frame.length);
  b.writeInt32BE(frame.length, 0);
  frame.copy(b, 4);
  return b;
}
