// Malformed-frame generators and a pipelining sender for robustness tests.
import net from 'node:net';
import { randomBytes, randomInt } from 'node:crypto';
import { FrameSplitter, Writer, encodeRecordBatch, encodeRequestFrame } from './kafka-wire.ts';
import { encodeProduceV7, type ApiRange } from './kafka-api.ts';

export interface FuzzFrame { kind: string; bytes: Buffer }

const frame = (payload: Buffer): Buffer => {
  const b = Buffer.allocUnsafe(4 + payload.length);
  b.writeInt32BE(payload.length, 0);
  payload.copy(b, 4);
  return b;
};
const header = (apiKey: number, version: number, body: Buffer, flexible = false): Buffer =>
  encodeRequestFrame(apiKey, version, randomInt(1, 0x7000_0000), body, { clientId: 'fuzz', flexibleHeader: flexible });

/** Well-formed requests whose every strict prefix (with an honest length prefix) is a malformed frame. */
export function validTemplates(topic: string): Buffer[] {
  const batch = encodeRecordBatch(Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: `value-${i}-${'y'.repeat(20)}` })));
  return [
    header(18, 3, new Writer().compactString('fuzz').compactString('1.0').tags().toBuffer(), true),
    header(3, 4, new Writer().array([topic], (w, t) => w.string(t)).bool(false).toBuffer()),
    header(0, 7, encodeProduceV7(topic, 0, batch)),
    header(1, 11, new Writer().int32(-1).int32(0).int32(1).int32(1 << 20).int8(0).int32(0).int32(-1)
      .array([topic], (w, t) => w.string(t).array([0], (pw, p) => pw.int32(p).int32(-1).int64(0).int64(-1).int32(1 << 20)))
      .array([], () => undefined).string('').toBuffer()),
    header(2, 2, new Writer().int32(-1).int8(0).array([topic], (w, t) => w.string(t).array([0], (pw, p) => pw.int32(p).int64(-1n))).toBuffer()),
    header(22, 1, new Writer().string(null).int32(60_000).toBuffer()),
    header(10, 2, new Writer().string('fuzz-group').int8(0).toBuffer()),
    header(9, 4, new Writer().string('fuzz-group').array([topic], (w, t) => w.string(t).array([0], (pw, p) => pw.int32(p))).toBuffer()),
  ].map((f) => f.subarray(4));
}

/** Every strict prefix of each template, framed with its true (short) length. */
export function truncatedFrames(templates: Buffer[]): FuzzFrame[] {
  const out: FuzzFrame[] = [];
  for (const t of templates) for (let k = 0; k < t.length; k++) out.push({ kind: 'truncated', bytes: frame(t.subarray(0, k)) });
  return out;
}

export function randomFrames(n: number): FuzzFrame[] {
  return Array.from({ length: n }, () => ({ kind: 'random', bytes: frame(randomBytes(randomInt(1, 300))) }));
}

export function unknownApiKeyFrames(n: number, known: Set<number>): FuzzFrame[] {
  const out: FuzzFrame[] = [];
  while (out.length < n) {
    const key = randomInt(0, 2) ? randomInt(-32768, 0) : randomInt(0, 32768);
    if (known.has(key)) continue;
    out.push({ kind: 'unknown-key', bytes: header(key, randomInt(0, 12), randomBytes(randomInt(0, 64))) });
  }
  return out;
}

export function unsupportedVersionFrames(n: number, apis: ApiRange[]): FuzzFrame[] {
  return Array.from({ length: n }, () => {
    const a = apis[randomInt(0, apis.length)];
    const v = randomInt(0, 3) === 0 ? randomInt(-32768, 0) : randomInt(a.maxVersion + 1, Math.min(32767, a.maxVersion + 200));
    return { kind: 'unsupported-version', bytes: header(a.apiKey, v, randomBytes(randomInt(0, 64))) };
  });
}

/** Supported (key, version) headers followed by random bodies. */
export function garbageBodyFrames(n: number, apis: ApiRange[]): FuzzFrame[] {
  return Array.from({ length: n }, () => {
    const a = apis[randomInt(0, apis.length)];
    const v = randomInt(a.minVersion, a.maxVersion + 1);
    // ApiVersions v3+ and other flexible versions use header v2; a garbage body is garbage either way.
    return { kind: 'garbage-body', bytes: header(a.apiKey, v, randomBytes(randomInt(0, 200))) };
  });
}

/** Length prefixes that must never be honoured: 2 GiB, negative, INT32_MIN. Each needs its own connection. */
export function hostileLengthFrames(): FuzzFrame[] {
  const mk = (len: number, kind: string) => { const b = Buffer.alloc(16, 0x41); b.writeInt32BE(len, 0); return { kind, bytes: b }; };
  return [mk(0x7fffffff, '2GiB-length'), mk(0x7ffffff0, '2GiB-length'), mk(-1, 'negative-length'),
    mk(-2147483648, 'negative-length'), mk(-100, 'negative-length'), mk(0x40000000, '1GiB-length')];
}

/** A valid Produce v7 whose batch CRC is wrong. */
export function corruptCrcProduce(topic: string, i: number): Buffer {
  const batch = encodeRecordBatch([{ key: `c${i}`, value: `corrupt-${i}` }, { key: null, value: randomBytes(32) }]);
  batch.writeUInt32BE((batch.readUInt32BE(17) ^ (1 << (i % 32))) >>> 0, 17);
  return encodeProduceV7(topic, 0, batch);
}

export interface BlastStats {
  processed: number; connections: number; closes: number; responses: number;
  stuck: { kind: string; hex: string }[]; perKind: Record<string, number>;
}

/**
 * Send frames over one connection at a time, pipelining a chunk followed by an ApiVersions v0 "sentinel".
 * The sentinel's answer proves the broker processed the whole chunk; a close means it processed the frames
 * it answered plus the one it choked on, and the rest are sent again on a new connection.
 */
export async function blast(host: string, port: number, frames: FuzzFrame[], stats: BlastStats, timeoutMs = 10_000): Promise<void> {
  let i = 0;
  let size = 16;
  let sock: ProbeSocket | null = null;
  while (i < frames.length) {
    if (!sock || sock.closed) { sock = await ProbeSocket.connect(host, port); stats.connections++; }
    const chunk = frames.slice(i, i + size);
    const r = await sock.send(chunk.map((f) => f.bytes), timeoutMs);
    stats.responses += r.responses;
    let done: number;
    if (r.outcome === 'ok') { done = chunk.length; size = Math.min(512, size * 2); }
    else if (r.outcome === 'closed') { stats.closes++; done = Math.min(chunk.length, r.responses + 1); size = Math.max(1, done); }
    else {
      // Neither an answer nor a close: the broker is sitting on something. Record the chunk head and move on.
      done = Math.min(chunk.length, r.responses + 1);
      stats.stuck.push({ kind: chunk[done - 1].kind, hex: chunk[done - 1].bytes.subarray(0, 64).toString('hex') });
      sock.destroy();
      size = 1;
    }
    for (const f of chunk.slice(0, done)) stats.perKind[f.kind] = (stats.perKind[f.kind] ?? 0) + 1;
    stats.processed += done;
    i += done;
  }
  sock?.destroy();
}

let sentinelSeq = 0;

class ProbeSocket {
  closed = false;
  private splitter = new FrameSplitter();
  private onResponse: ((id: number) => void) | null = null;
  private onClose: (() => void) | null = null;

  private constructor(private readonly s: net.Socket) {
    s.setNoDelay(true);
    s.on('data', (chunk) => {
      try {
        this.splitter.push(chunk, (f) => this.onResponse?.(f.length >= 4 ? f.readInt32BE(0) : -1));
      } catch { s.destroy(); }
    });
    s.on('error', () => undefined);
    s.on('close', () => { this.closed = true; this.onClose?.(); });
  }

  static connect(host: string, port: number): Promise<ProbeSocket> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port }, () => { s.off('error', reject); resolve(new ProbeSocket(s)); });
      s.once('error', reject);
    });
  }

  send(frames: Buffer[], timeoutMs: number): Promise<{ outcome: 'ok' | 'closed' | 'timeout'; responses: number }> {
    const sentinelId = 0x7ff00000 + (sentinelSeq++ % 0xfffff);
    return new Promise((resolve) => {
      let responses = 0;
      const finish = (outcome: 'ok' | 'closed' | 'timeout') => {
        clearTimeout(t);
        this.onResponse = null;
        this.onClose = null;
        resolve({ outcome, responses });
      };
      const t = setTimeout(() => finish('timeout'), timeoutMs);
      this.onResponse = (id) => { if (id === sentinelId) finish('ok'); else responses++; };
      this.onClose = () => finish('closed');
      if (this.closed) { finish('closed'); return; }
      this.s.write(Buffer.concat([...frames, encodeRequestFrame(18, 0, sentinelId, Buffer.alloc(0), { clientId: 'sentinel' })]));
    });
  }

  destroy(): void { this.s.destroy(); }
}

/** Open a connection, write `bytes`, and report whether the broker closed it within `ms`. */
export function closedWithin(host: string, port: number, bytes: Buffer, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port }, () => s.write(bytes));
    const t = setTimeout(() => { s.destroy(); resolve(false); }, ms);
    s.on('error', () => undefined);
    s.on('close', () => { clearTimeout(t); resolve(true); });
    s.on('data', () => undefined);
  });
}
