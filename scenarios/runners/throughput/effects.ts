/**
 * Did a step's accepted orders have all their effects, and when did the last one arrive?
 *
 * The oracle (expectedOutcome) is run over the step's accepted orders only; what the landscape
 * shows is filtered to those orders' ids first, so the records of earlier steps (and of orders
 * whose answer never came) neither count as unexpected nor as present. An order is complete when
 * every record the oracle expects for it is in the lake with the expected content, and every
 * system the oracle names received it. Its end-to-end latency is the arrival of its last effect
 * minus its send time: a lake record arrives with the lake file that holds it (the file's mtime:
 * files are written whole, then linked or renamed into place, and never changed afterwards), a
 * received record when the system processed it (the `atMs` of its GET /state).
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { DataKind, Order } from '../../../systems/domain/records.ts';
import { recordId } from '../../../systems/domain/records.ts';
import { canonicalString, HUB_DIR, isTempName, LEGACY_DIR, visitLake, type CanonicalRecord } from '../../../systems/lake/index.ts';
import { expectedOutcome, verify, type ExpectedOutcome, type VerifyReport } from '../../../systems/oracle/index.ts';
import type { ReceivedState } from '../../../systems/runtime/core.ts';
import type { Landscape } from '../../../systems/runtime/landscape.ts';
import { PATHS } from '../../../systems/runtime/options.ts';
import type { Topology } from '../../../systems/topology/index.ts';

const SEP = '\u0000';

export interface StepExpectation {
  expected: ExpectedOutcome;
  /** The step's accepted orders, by id, with their send times. */
  sentAtMs: Map<string, number>;
  /** Per order: the lake records it must produce (kind SEP recordId) and the receivers it must reach (system SEP kind). */
  lakeKeys: Map<string, string[]>;
  receiverKeys: Map<string, string[]>;
  /** kind SEP recordId -> the canonical string the lake must hold. */
  lakeWant: Map<string, string>;
}

/** Kinds that reach the lake: in the legacy layout only what systems with a lake export produce; the hub's sink takes every topic. */
function lakeKindsOf(topology: Topology, layout: 'legacy' | 'hub'): DataKind[] | undefined {
  if (layout === 'hub') return undefined;
  return topology.systems.filter((s) => s.lakeExport).flatMap((s) => s.produces) as DataKind[];
}

export function expectStep(topology: Topology, layout: 'legacy' | 'hub', accepted: readonly { order: Order; sentAtMs: number }[]): StepExpectation {
  const ingress = topology.systems.find((s) => s.role === 'ingress')?.id;
  const expected = expectedOutcome(accepted.map((a) => a.order), topology.flows, { ingress, lakeKinds: lakeKindsOf(topology, layout) });
  const sentAtMs = new Map(accepted.map((a) => [a.order.orderId, a.sentAtMs]));
  const lakeKeys = new Map<string, string[]>();
  const receiverKeys = new Map<string, string[]>();
  const lakeWant = new Map<string, string>();
  const push = (m: Map<string, string[]>, orderId: string, key: string) => {
    const list = m.get(orderId);
    if (list) list.push(key);
    else m.set(orderId, [key]);
  };
  for (const r of expected.records) {
    const key = `${r.kind}${SEP}${recordId(r.kind, r.body)}`;
    lakeWant.set(key, canonicalString(r));
    push(lakeKeys, r.orderId, key);
  }
  // Systems remember the orderId of what they receive; for the kinds systems receive the
  // oracle's record id is that orderId.
  for (const [system, kinds] of expected.received) {
    for (const [kind, ids] of kinds) for (const id of ids) push(receiverKeys, id, `${system}${SEP}${kind}`);
  }
  return { expected, sentAtMs, lakeKeys, receiverKeys, lakeWant };
}

// ---- reading what arrived -------------------------------------------------------------------

export interface LakeRead {
  /** Every lake record of the step's orders, with the mtime of its file. */
  records: { record: CanonicalRecord; fileMs: number }[];
  badLines: number;
}

/**
 * Reads the lake for a set of order ids. Lake files never change once visible, so a read is
 * skipped (the last one reused) while the list of files is unchanged, and reads are spaced out
 * so that decoding a large lake never takes more than about a third of one core from the machine.
 */
export class LakeWatcher {
  private readonly mtimes = new Map<string, number>();
  private signature = '';
  private last: LakeRead | null = null;
  private lastIds: ReadonlySet<string> | null = null;
  private nextReadAtMs = 0;

  constructor(private readonly lakeDir: string, private readonly layout: 'legacy' | 'hub') {}

  read(ids: ReadonlySet<string>, force = false): LakeRead {
    const signature = this.fileList();
    const fresh = this.last && this.lastIds === ids && signature === this.signature;
    if (this.last && this.lastIds === ids && !force && (fresh || Date.now() < this.nextReadAtMs)) return this.last;
    const started = Date.now();
    const out: LakeRead = { records: [], badLines: 0 };
    visitLake(this.lakeDir, this.layout, {
      onRecord: (record, info) => {
        if (ids.has(record.orderId)) out.records.push({ record, fileMs: this.mtimeOf(info.file) });
      },
      onBad: () => void out.badLines++,
    });
    this.signature = signature;
    this.last = out;
    this.lastIds = ids;
    this.nextReadAtMs = Date.now() + 2 * (Date.now() - started);
    return out;
  }

  private mtimeOf(file: string): number {
    let ms = this.mtimes.get(file);
    if (ms === undefined) {
      ms = statSync(path.join(this.lakeDir, file)).mtimeMs;
      this.mtimes.set(file, ms);
    }
    return ms;
  }

  /** The lake's data files (temporary ones left out), as one string. */
  private fileList(): string {
    const root = path.join(this.lakeDir, this.layout === 'legacy' ? LEGACY_DIR : HUB_DIR);
    let names: string[];
    try {
      names = readdirSync(root, { recursive: true, encoding: 'utf8' });
    } catch {
      return '';
    }
    return names.filter((n) => !isTempName(path.basename(n))).sort().join('\n');
  }
}

export interface ReceivedRead {
  /** system -> input kind -> order ids of the step it received (every copy), for the oracle. */
  ids: Map<string, Map<string, string[]>>;
  /** system SEP kind -> order id -> first arrival (NaN when the system did not say when). */
  firstMs: Map<string, Map<string, number>>;
  /** Bytes of each system's GET /state answer (body and headers), so a caller can discount them. */
  bytes: Map<string, number>;
  truncated: string[];
}

/** GET /state of every running system, limited to the kinds flows bring it and to the step's orders. */
export async function readReceived(landscape: Landscape, ids: ReadonlySet<string>): Promise<ReceivedRead> {
  const states = new Map<string, ReceivedState>();
  const bytes = new Map<string, number>();
  await Promise.all(landscape.topology.systems.filter((s) => landscape.urls[s.id]).map(async (s) => {
    const res = await fetch(`${landscape.urls[s.id]}${PATHS.state}`, { signal: AbortSignal.timeout(30_000) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${s.id}: GET /state answered ${res.status}`);
    let headerBytes = `HTTP/1.1 ${res.status} ${res.statusText}\r\n\r\n`.length;
    res.headers.forEach((v, k) => { headerBytes += k.length + v.length + 4; });
    bytes.set(s.id, Buffer.byteLength(text) + headerBytes);
    states.set(s.id, (JSON.parse(text) as { received: ReceivedState }).received);
  }));
  return { ...receivedOf(landscape.topology, states, ids), bytes };
}

/** What each system's `received` state says about the step's orders, for the kinds flows bring it. */
export function receivedOf(topology: Topology, states: ReadonlyMap<string, ReceivedState>, ids: ReadonlySet<string>): Omit<ReceivedRead, 'bytes'> {
  const out: Omit<ReceivedRead, 'bytes'> = { ids: new Map(), firstMs: new Map(), truncated: [] };
  for (const [system, received] of states) {
    const viaFlows = new Set(topology.flows.filter((f) => f.to === system).map((f) => f.data));
    const kinds = new Map<string, string[]>();
    for (const [kind, r] of Object.entries(received)) {
      if (!viaFlows.has(kind)) continue;
      if (r.truncated) out.truncated.push(`${system}/${kind}`);
      const got: string[] = [];
      const first = new Map<string, number>();
      r.orderIds.forEach((id, i) => {
        if (!ids.has(id)) return;
        got.push(id);
        // A system without arrival times (older than `atMs`) still proves receipt, not its time.
        if (!first.has(id)) first.set(id, r.atMs?.[i] ?? Number.NaN);
      });
      kinds.set(kind, got);
      out.firstMs.set(`${system}${SEP}${kind}`, first);
    }
    out.ids.set(system, kinds);
  }
  return out;
}

// ---- judging --------------------------------------------------------------------------------

export interface StepEvaluation {
  accepted: number;
  complete: number;
  completionRate: number;
  /** End-to-end latency of each complete order, ms. */
  e2eMs: number[];
  /** Effects still missing over all orders. */
  missingLake: number;
  missingReceived: number;
  /** The oracle's report over the step's orders (lake and receivers filtered to them). */
  report: VerifyReport | null;
}

/** Earliest arrival of a content-correct copy of each expected lake record. */
function lakeArrivals(exp: StepExpectation, lake: LakeRead): Map<string, number> {
  const first = new Map<string, number>();
  for (const { record, fileMs } of lake.records) {
    const key = `${record.kind}${SEP}${recordId(record.kind, record.body)}`;
    const want = exp.lakeWant.get(key);
    if (want === undefined || canonicalString(record) !== want) continue;
    const seen = first.get(key);
    if (seen === undefined || fileMs < seen) first.set(key, fileMs);
  }
  return first;
}

export function lakeComplete(exp: StepExpectation, lake: LakeRead): boolean {
  return lakeArrivals(exp, lake).size >= exp.lakeWant.size;
}

export function evaluateStep(exp: StepExpectation, lake: LakeRead, received: ReceivedRead | null): StepEvaluation {
  const lakeFirst = lakeArrivals(exp, lake);
  const e2eMs: number[] = [];
  let complete = 0;
  let missingLake = 0;
  let missingReceived = 0;
  for (const [orderId, sentAt] of exp.sentAtMs) {
    let last = sentAt;
    let ok = true;
    let timed = true;
    for (const key of exp.lakeKeys.get(orderId) ?? []) {
      const at = lakeFirst.get(key);
      if (at === undefined) { ok = false; missingLake++; } else last = Math.max(last, at);
    }
    for (const key of exp.receiverKeys.get(orderId) ?? []) {
      const at = received?.firstMs.get(key)?.get(orderId);
      if (at === undefined) { ok = false; missingReceived++; } else if (Number.isNaN(at)) timed = false; else last = Math.max(last, at);
    }
    if (!ok) continue;
    complete++;
    // `last` starts at the send time: a file time from the kernel's coarse clock (up to a tick
    // behind Date.now()) never makes a latency negative.
    if (timed) e2eMs.push(last - sentAt);
  }
  const accepted = exp.sentAtMs.size;
  const report = received ? verify(exp.expected, { lake: lake.records.map((r) => r.record), received: received.ids }) : null;
  return { accepted, complete, completionRate: accepted === 0 ? 0 : complete / accepted, e2eMs, missingLake, missingReceived, report };
}

// ---- waiting --------------------------------------------------------------------------------

export interface SettleOptions {
  landscape: Landscape;
  lake: LakeWatcher;
  expectation: StepExpectation;
  /** Give up at this time (epoch ms). */
  deadlineMs: number;
  pollMs?: number;
  /**
   * Called right before each round of GET /state (which only starts once the lake holds every
   * expected record): the runner samples its processes here, so the sample before the last round
   * closes the measured window and the /state answers themselves stay out of it.
   */
  beforeStateRound?: () => void;
  signal?: AbortSignal;
}

export interface Settled {
  evaluation: StepEvaluation;
  /** When the check that ended the wait began. */
  settledAtMs: number;
  timedOut: boolean;
  /** Bytes of GET /state answers per system from rounds before the last one (they fall inside the window). */
  stateBytesInWindow: Map<string, number>;
  lakeBadLines: number;
  truncated: string[];
}

/** Polls until every accepted order of the step is complete, or the deadline. */
export async function settle(o: SettleOptions): Promise<Settled> {
  const ids = new Set(o.expectation.sentAtMs.keys());
  const stateBytes = new Map<string, number>();
  const pollMs = o.pollMs ?? 250;
  while (true) {
    const checkAtMs = Date.now();
    const timeUp = checkAtMs >= o.deadlineMs || o.signal?.aborted === true;
    const lake = o.lake.read(ids, timeUp);
    if (timeUp || lakeComplete(o.expectation, lake)) {
      o.beforeStateRound?.();
      const received = await readReceived(o.landscape, ids);
      const evaluation = evaluateStep(o.expectation, lake, received);
      if (timeUp || evaluation.complete === evaluation.accepted) {
        return { evaluation, settledAtMs: checkAtMs, timedOut: evaluation.complete < evaluation.accepted, stateBytesInWindow: stateBytes, lakeBadLines: lake.badLines, truncated: received.truncated };
      }
      for (const [system, n] of received.bytes) stateBytes.set(system, (stateBytes.get(system) ?? 0) + n);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Nearest-rank percentile of unsorted values; null when there are none. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}
