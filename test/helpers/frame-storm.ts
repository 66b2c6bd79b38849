// Drives mutated request frames through a broker started in this process (RunningBroker.serveFrame:
// the same header decode, authentication gate and dispatch as a socket's frames), many at a time,
// without sockets, so a million frames fit in a test's time. A frame that makes the broker throw is
// what closes a socket's connection: the worker then goes on as a new connection, as a client would
// reconnect. Requests that park (long polls, group joins) do not hold a worker up; they are counted.
import { ProtocolError } from '../../broker/protocol/wire.ts';
import type { RunningBroker } from '../../broker/index.ts';
import type { ConnectionInfo } from '../../broker/server/connection.ts';
import { Rng, mutate, type MutationKind, type Template } from './frame-mutate.ts';

export interface StormStats {
  frames: number;
  answered: number;
  /** Frames with no response by design (acks=0 Produce). */
  silent: number;
  /** Frames after which a socket would have been closed. */
  closes: number;
  /** Requests still unanswered a scheduler tick after they were sent; most answer later. */
  parkedTotal: number;
  parkedPeak: number;
  perKind: Partial<Record<MutationKind, number>>;
  /** Why the broker refused frames (error class and message, numbers folded), capped in size. */
  refusals: Map<string, number>;
  /** Well-formed requests interleaved in the storm, and those answered wrongly (with why). */
  validSent: number;
  validWrong: string[];
}

const MAX_REFUSAL_KINDS = 200;
const MAX_PARKED = 2_000;

export function newStats(): StormStats {
  return { frames: 0, answered: 0, silent: 0, closes: 0, parkedTotal: 0, parkedPeak: 0, perKind: {}, refusals: new Map(), validSent: 0, validWrong: [] };
}

let nextConnId = 1_000_000;
function connection(): ConnectionInfo {
  return { id: nextConnId++, remoteAddress: '127.0.0.9', remotePort: 0, principal: 'User:ANONYMOUS', closed: false };
}

function refusalKey(err: unknown): string {
  if (err instanceof ProtocolError) return 'ProtocolError (malformed)';
  const e = err instanceof Error ? err : new Error(String(err));
  return `${e.constructor.name}: ${e.message.replace(/\d+/g, 'N').slice(0, 90)}`;
}

/** A check of one interleaved well-formed request's answer: null when right, else what is wrong. */
export interface ValidProbe { frame: Buffer; check(response: Buffer): string | null }

export interface StormOptions {
  broker: RunningBroker;
  templates: readonly Template[];
  apis: readonly number[];
  seed: number;
  frames: number;
  workers: number;
  /** Every this many frames, a worker sends the next probe unmutated on a fresh connection and checks its answer. */
  probeEvery: number;
  probes: readonly ValidProbe[];
}

/** Sends `frames` mutated frames over `workers` concurrent workers; worker w draws from Rng(seed + w). */
export async function storm(o: StormOptions, stats: StormStats): Promise<void> {
  let release: () => void = () => undefined;
  let tick = new Promise<void>((resolve) => { release = resolve; });
  const timer = setInterval(() => {
    const r = release;
    tick = new Promise<void>((resolve) => { release = resolve; });
    r();
  }, 25);
  let parked = 0;
  const perWorker = Math.ceil(o.frames / o.workers);
  const worker = async (w: number): Promise<void> => {
    const rng = new Rng(o.seed + w);
    let conn = connection();
    const count = Math.min(perWorker, o.frames - w * perWorker);
    for (let i = 0; i < count; i++) {
      // Most frames are answered within microtasks: without a turn of the event loop now and then,
      // timers (long polls, the tick) and V8's own memory tasks (finishing incremental marking,
      // releasing freed pages) would wait for the whole storm, and the heap would balloon.
      if (i % 64 === 63) await new Promise<void>((resolve) => setImmediate(resolve));
      if (o.probes.length > 0 && i % o.probeEvery === o.probeEvery - 1) await probe(o, stats, o.probes[(i / o.probeEvery + w) % o.probes.length | 0]);
      const { kind, frame } = mutate(rng, o.templates[rng.int(o.templates.length)], o.apis);
      stats.frames++;
      stats.perKind[kind] = (stats.perKind[kind] ?? 0) + 1;
      const sentOn = conn;
      let done = false;
      const p = o.broker.serveFrame(frame, sentOn).then(
        (response) => {
          done = true;
          if (response === null) stats.silent++;
          else stats.answered++;
        },
        (err: unknown) => {
          done = true;
          stats.closes++;
          const key = refusalKey(err);
          if (stats.refusals.has(key) || stats.refusals.size < MAX_REFUSAL_KINDS) stats.refusals.set(key, (stats.refusals.get(key) ?? 0) + 1);
          else stats.refusals.set('(other)', (stats.refusals.get('(other)') ?? 0) + 1);
          // The socket would be gone: long polls on it end, and the client comes back on a new one.
          (sentOn as { closed: boolean }).closed = true;
          if (conn === sentOn) conn = connection();
        },
      );
      await Promise.race([p, tick]);
      if (!done) {
        parked++;
        stats.parkedTotal++;
        stats.parkedPeak = Math.max(stats.parkedPeak, parked);
        const settled = p.finally(() => { parked--; });
        // Bounded: past MAX_PARKED the worker waits, as a client waits for its in-flight requests.
        if (parked >= MAX_PARKED) await settled;
      }
    }
    (conn as { closed: boolean }).closed = true;
  };
  try {
    await Promise.all(Array.from({ length: o.workers }, (_, w) => worker(w)));
  } finally {
    clearInterval(timer);
    release();
  }
}

async function probe(o: StormOptions, stats: StormStats, p: ValidProbe): Promise<void> {
  stats.validSent++;
  const conn = connection();
  try {
    const response = await o.broker.serveFrame(Buffer.from(p.frame), conn);
    const wrong = response === null ? 'no response' : p.check(Buffer.concat(response));
    if (wrong !== null && stats.validWrong.length < 20) stats.validWrong.push(wrong);
  } catch (err) {
    if (stats.validWrong.length < 20) stats.validWrong.push(`refused: ${(err as Error).message}`);
  } finally {
    (conn as { closed: boolean }).closed = true;
  }
}
