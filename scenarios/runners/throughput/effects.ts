/**
 * Did a step's accepted ingress events have all their effects, and when did the last one arrive?
 *
 * The oracle (expectedOutcome) is run over the step's accepted events only; what the landscape
 * shows is filtered to the records they cause first, so the records of earlier steps (and of events
 * whose answer never came) neither count as unexpected nor as present. An event is complete when
 * every record the oracle expects for it is in the lake with the expected content, and every
 * system the oracle names received it. Its end-to-end latency is the arrival of its last effect
 * minus its send time: a lake record arrives with the lake file that holds it (the file's mtime:
 * files are written whole, then linked or renamed into place, and never changed afterwards), a
 * received record when the system processed it (the `atMs` of its GET /state).
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { IngressEvent } from '../../load/ingress-feed.ts';
import { canonicalString, HUB_DIR, isTempName, LEGACY_DIR, visitLake, type CanonicalRecord } from '../../../systems/lake/index.ts';
import { expectedOutcome, ingressRootKey, recordKey, verify, type ExpectedOutcome, type VerifyReport } from '../../../systems/oracle/index.ts';
import type { ReceivedState } from '../../../systems/runtime/core.ts';
import type { Landscape } from '../../../systems/runtime/landscape.ts';
import { PATHS } from '../../../systems/runtime/options.ts';
import type { Topology } from '../../../systems/topology/index.ts';
import type { RecordKinds } from '../../../systems/model/kinds.ts';

const SEP = '\u0000';

export interface StepExpectation {
  expected: ExpectedOutcome;
  /** The step's accepted events, by root key, with their send times. */
  sentAtMs: Map<string, number>;
  /** Per root: the lake records it must produce (kind SEP id) and the receipts it must cause (system SEP kind SEP id). */
  lakeKeys: Map<string, string[]>;
  receiverKeys: Map<string, string[]>;
  /** kind SEP id -> the canonical string the lake must hold. */
  lakeWant: Map<string, string>;
  /** kind SEP id of every record the step causes: what the lake and the systems are filtered to. */
  keys: Set<string>;
}

export function expectStep(topology: Topology, layout: 'legacy' | 'hub', accepted: readonly { event: IngressEvent; sentAtMs: number }[]): StepExpectation {
  const expected = expectedOutcome(topology, { ingress: accepted.map((a) => a.event) }, { layout });
  const sentAtMs = new Map(accepted.map((a) => [ingressRootKey(a.event.kind, a.event.id), a.sentAtMs]));
  const lakeKeys = new Map<string, string[]>();
  const receiverKeys = new Map<string, string[]>();
  const lakeWant = new Map<string, string>();
  const push = (m: Map<string, string[]>, root: string | undefined, key: string) => {
    if (root === undefined) return;
    const list = m.get(root);
    if (list) list.push(key);
    else m.set(root, [key]);
  };
  for (const r of expected.records) {
    const key = recordKey(r.kind, r.id);
    lakeWant.set(key, canonicalString(r));
    push(lakeKeys, expected.rootOf.get(key), key);
  }
  for (const [system, kinds] of expected.received) {
    for (const [kind, ids] of kinds) for (const id of ids) push(receiverKeys, expected.rootOf.get(recordKey(kind, id)), `${system}${SEP}${kind}${SEP}${id}`);
  }
  return { expected, sentAtMs, lakeKeys, receiverKeys, lakeWant, keys: new Set(expected.rootOf.keys()) };
}

// ---- reading what arrived -------------------------------------------------------------------

export interface LakeRead {
  /** Every lake record of the step's events, with the mtime of its file. */
  records: { record: CanonicalRecord; fileMs: number }[];
  badLines: number;
}

/**
 * Reads the lake for a set of record keys (kind SEP id). Lake files never change once visible, so a read is
 * skipped (the last one reused) while the list of files is unchanged, and reads are spaced out
 * so that decoding a large lake never takes more than about a third of one core from the machine.
 */
export class LakeWatcher {
  private readonly mtimes = new Map<string, number>();
  private signature = '';
  private last: LakeRead | null = null;
  private lastIds: ReadonlySet<string> | null = null;
  private nextReadAtMs = 0;

  constructor(private readonly lakeDir: string, private readonly layout: 'legacy' | 'hub', private readonly kinds: RecordKinds) {}

  read(ids: ReadonlySet<string>, force = false): LakeRead {
    const signature = this.fileList();
    const fresh = this.last && this.lastIds === ids && signature === this.signature;
    if (this.last && this.lastIds === ids && !force && (fresh || Date.now() < this.nextReadAtMs)) return this.last;
    const started = Date.now();
    const out: LakeRead = { records: [], badLines: 0 };
    visitLake(this.lakeDir, this.layout, this.kinds, {
      onRecord: (record, info) => {
        if (ids.has(recordKey(record.kind, record.id))) out.records.push({ record, fileMs: this.mtimeOf(info.file) });
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
  /** system -> input kind -> ids of the step's records it received (every copy, every instance), for the oracle. */
  ids: Map<string, Map<string, string[]>>;
  /** system SEP kind -> record id -> first arrival (NaN when the system did not say when). */
  firstMs: Map<string, Map<string, number>>;
  /** Bytes of each system's GET /state answer (body and headers), so a caller can discount them. */
  bytes: Map<string, number>;
  truncated: string[];
}

/** GET /state of every running system (every instance), limited to the kinds flows bring it and to the step's records. */
export async function readReceived(landscape: Landscape, keys: ReadonlySet<string>): Promise<ReceivedRead> {
  const states = new Map<string, ReceivedState[]>();
  const bytes = new Map<string, number>();
  const running = landscape.topology.systems.flatMap((s) => landscape.instancesOf(s.id).filter((name) => landscape.urls[name]).map((name) => ({ system: s.id, name })));
  await Promise.all(running.map(async ({ system, name }) => {
    const res = await fetch(`${landscape.urls[name]}${PATHS.state}`, { signal: AbortSignal.timeout(30_000) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${name}: GET /state answered ${res.status}`);
    let headerBytes = `HTTP/1.1 ${res.status} ${res.statusText}\r\n\r\n`.length;
    res.headers.forEach((v, k) => { headerBytes += k.length + v.length + 4; });
    bytes.set(name, Buffer.byteLength(text) + headerBytes);
    states.set(system, [...(states.get(system) ?? []), (JSON.parse(text) as { received: ReceivedState }).received]);
  }));
  return { ...receivedOf(landscape.topology, states, keys), bytes };
}

/** What each system's instances' `received` states say about the step's records, for the kinds flows bring it. */
export function receivedOf(topology: Topology, states: ReadonlyMap<string, readonly ReceivedState[]>, keys: ReadonlySet<string>): Omit<ReceivedRead, 'bytes'> {
  const out: Omit<ReceivedRead, 'bytes'> = { ids: new Map(), firstMs: new Map(), truncated: [] };
  for (const [system, instances] of states) {
    const viaFlows = new Set(topology.flows.filter((f) => f.to === system).map((f) => f.data));
    const kinds = new Map<string, string[]>();
    for (const received of instances) {
      for (const [kind, r] of Object.entries(received)) {
        if (!viaFlows.has(kind)) continue;
        if (r.truncated) out.truncated.push(`${system}/${kind}`);
        const got = kinds.get(kind) ?? [];
        kinds.set(kind, got);
        const fkey = `${system}${SEP}${kind}`;
        const first = out.firstMs.get(fkey) ?? new Map<string, number>();
        out.firstMs.set(fkey, first);
        r.ids.forEach((id, i) => {
          if (!keys.has(recordKey(kind, id))) return;
          got.push(id);
          const at = r.atMs?.[i] ?? Number.NaN;
          const seen = first.get(id);
          // A system without arrival times still proves receipt, not its time.
          if (seen === undefined || at < seen) first.set(id, at);
        });
      }
    }
    out.ids.set(system, kinds);
  }
  return out;
}

// ---- judging --------------------------------------------------------------------------------

/**
 * One event's two end-to-end figures: until every downstream system had applied its effects, and
 * until the lake held all its records (null when it causes none of that kind, or one is missing or
 * untimed).
 */
export interface RootLatency {
  sentAtMs: number;
  toSystemsMs: number | null;
  toLakeMs: number | null;
  /** Every downstream system applied every effect (the lake aside). */
  systemsComplete: boolean;
  complete: boolean;
}

export interface StepEvaluation {
  accepted: number;
  complete: number;
  completionRate: number;
  /** End-to-end latency of each complete event, ms. */
  e2eMs: number[];
  /** Per event (root key): its two end-to-end figures, apart. */
  perRoot: Map<string, RootLatency>;
  /** Effects still missing over all events. */
  missingLake: number;
  missingReceived: number;
  /** The oracle's report over the step's orders (lake and receivers filtered to them). */
  report: VerifyReport | null;
}

/** Earliest arrival of a content-correct copy of each expected lake record. */
function lakeArrivals(exp: Pick<StepExpectation, 'lakeWant'>, lake: LakeRead): Map<string, number> {
  const first = new Map<string, number>();
  for (const { record, fileMs } of lake.records) {
    const key = recordKey(record.kind, record.id);
    const want = exp.lakeWant.get(key);
    if (want === undefined || canonicalString(record) !== want) continue;
    const seen = first.get(key);
    if (seen === undefined || fileMs < seen) first.set(key, fileMs);
  }
  return first;
}

export function lakeComplete(exp: Pick<StepExpectation, 'lakeWant'>, lake: LakeRead): boolean {
  return lakeArrivals(exp, lake).size >= exp.lakeWant.size;
}

/** Per event (root key) of an expectation: when the lake held all its records (ms after its send), null while one is missing. */
export function lakeLatencies(exp: StepExpectation, lake: LakeRead): Map<string, number | null> {
  const first = lakeArrivals(exp, lake);
  const out = new Map<string, number | null>();
  for (const [root, sentAt] of exp.sentAtMs) {
    let last = sentAt;
    let ok = true;
    for (const key of exp.lakeKeys.get(root) ?? []) {
      const at = first.get(key);
      if (at === undefined) ok = false;
      else last = Math.max(last, at);
    }
    out.set(root, ok ? last - sentAt : null);
  }
  return out;
}

export function evaluateStep(exp: StepExpectation, lake: LakeRead, received: ReceivedRead | null): StepEvaluation {
  const lakeFirst = lakeArrivals(exp, lake);
  const e2eMs: number[] = [];
  const perRoot = new Map<string, RootLatency>();
  let complete = 0;
  let missingLake = 0;
  let missingReceived = 0;
  for (const [root, sentAt] of exp.sentAtMs) {
    // Each starts at the send time: a file time from the kernel's coarse clock (up to a tick
    // behind Date.now()) never makes a latency negative.
    let lastLake = sentAt;
    let lastSystems = sentAt;
    let lakeOk = true;
    let systemsOk = true;
    let timed = true;
    const lakeKeys = exp.lakeKeys.get(root) ?? [];
    const receiverKeys = exp.receiverKeys.get(root) ?? [];
    for (const key of lakeKeys) {
      const at = lakeFirst.get(key);
      if (at === undefined) { lakeOk = false; missingLake++; } else lastLake = Math.max(lastLake, at);
    }
    for (const key of receiverKeys) {
      const [system, kind, id] = key.split(SEP);
      const at = received?.firstMs.get(`${system}${SEP}${kind}`)?.get(id);
      if (at === undefined) { systemsOk = false; missingReceived++; } else if (Number.isNaN(at)) timed = false; else lastSystems = Math.max(lastSystems, at);
    }
    perRoot.set(root, {
      sentAtMs: sentAt,
      toSystemsMs: systemsOk && timed && receiverKeys.length > 0 ? lastSystems - sentAt : null,
      toLakeMs: lakeOk && lakeKeys.length > 0 ? lastLake - sentAt : null,
      systemsComplete: systemsOk,
      complete: lakeOk && systemsOk,
    });
    if (!lakeOk || !systemsOk) continue;
    complete++;
    if (timed) e2eMs.push(Math.max(lastLake, lastSystems) - sentAt);
  }
  const accepted = exp.sentAtMs.size;
  const report = received ? verify(exp.expected, { lake: lake.records.map((r) => r.record), received: received.ids }) : null;
  return { accepted, complete, completionRate: accepted === 0 ? 0 : complete / accepted, e2eMs, perRoot, missingLake, missingReceived, report };
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
  /**
   * 'systems': wait only until every downstream system has applied every effect, reading their
   * state every round; the lake is then not read (the caller checks it later, for several points
   * at once). Default 'all': the lake first, then the systems.
   */
  until?: 'all' | 'systems';
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

const NO_LAKE: LakeRead = { records: [], badLines: 0 };

/** Polls until every accepted event of the step is complete (or, with until 'systems', has reached every system), or the deadline. */
export async function settle(o: SettleOptions): Promise<Settled> {
  const ids = o.expectation.keys;
  const stateBytes = new Map<string, number>();
  const pollMs = o.pollMs ?? 250;
  const systemsOnly = o.until === 'systems';
  while (true) {
    const checkAtMs = Date.now();
    const timeUp = checkAtMs >= o.deadlineMs || o.signal?.aborted === true;
    if (systemsOnly) {
      o.beforeStateRound?.();
      const received = await readReceived(o.landscape, ids);
      const evaluation = evaluateStep(o.expectation, NO_LAKE, received);
      if (timeUp || evaluation.missingReceived === 0) {
        return { evaluation, settledAtMs: checkAtMs, timedOut: evaluation.missingReceived > 0, stateBytesInWindow: stateBytes, lakeBadLines: 0, truncated: received.truncated };
      }
      for (const [system, n] of received.bytes) stateBytes.set(system, (stateBytes.get(system) ?? 0) + n);
      await new Promise((r) => setTimeout(r, Math.max(pollMs, 500)));
      continue;
    }
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
