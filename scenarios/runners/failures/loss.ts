/**
 * Attributing the oracle's findings to the faults, and each lost record to its cause.
 *
 * Which fault: every lost or duplicated record (in the lake or at a receiving system) belongs to
 * the ingress event it came from (the oracle's rootOf), and an event belongs to the fault whose
 * window it was sent in. A window reaches back `lookbackMs` before the kill: what a process held in
 * memory when it died (a batch not yet written, an export not yet flushed) came from orders sent up
 * to one schedule period earlier. Where a look-back overlaps the previous fault's window, the later
 * fault takes the order: its kill is what destroyed the buffered state.
 *
 * Which cause (classifyLoss), from what the run knows: the component killed in that window and its
 * kind, and where on the record's path it went missing (the oracle says per record which system
 * should have received it, over which flow, or that it should have reached the lake):
 *  - RabbitMQ killed (a node, or legacy-ha's quorum leader): every record lost in its window is
 *    `rabbitmq`; the broker (a broker, or hub-cluster's quorum leader): `broker`;
 *  - the lake sink killed: lake records lost are `lakeSink` (a reception lost then: `unexplained`);
 *  - a system S killed, a record missing right next to S on its path:
 *    - S should have sent it: over a synchronous REST call (rest-sync) it was `inFlightCall` (the
 *      call in progress died with S); over anything S hands over later (a batch file, a poll feed,
 *      an AMQP publish, a hub publish, its own lake export: legacy lake records of a kind S
 *      produces, hub lake records S produced and never published) it was `bufferAtKill`, held in
 *      S's memory;
 *    - S should have received it: over rest-sync or rest-poll (a request in progress at the kill),
 *      or a hub subscription (a record being handled), `inFlightCall`; over AMQP or a batch file
 *      (taken into memory, not yet recorded), `bufferAtKill`;
 *  - a record missing further along (never made, because an earlier record of the same order went
 *    missing next to S) takes the cause of that order's first loss next to S (in-flight before
 *    buffer); with none, `unexplained`.
 * Orders sent outside any window (the warm-up) carry only `unexplained` losses.
 */
import { recordKey, type ExpectedOutcome, type VerifyReport } from '../../../systems/oracle/index.ts';
import type { LossCauses } from '../../../report/model.ts';
import type { LegacyTransport } from '../../../systems/topology/index.ts';

export type LossCause = keyof LossCauses;
export type FamilyName = 'legacy' | 'hub';

export interface FaultWindow {
  component: string;
  /** The component's kind (failures/components.ts ComponentKind). */
  kind: string;
  /** The kill. */
  fromMs: number;
  /** The end of the observation after the restart. */
  toMs: number;
}

export interface WindowLoss {
  ordersAccepted: number;
  /** Records expected from those orders: lake records plus per-system receptions. */
  recordsExpected: number;
  recordsLost: number;
  recordsDuplicated: number;
  ordersLost: number;
  /** recordsLost by cause; the counts add up to recordsLost. */
  lostByCause: LossCauses;
}

/** What the cause rule needs to know about the landscape. */
export interface LossPaths {
  /** legacy (legacy, legacy-ha) or hub (hub, hub-cluster). */
  family: FamilyName;
  flows: readonly { id: string; from: string; to: string; data: string; transport: LegacyTransport }[];
  /** The systems that produce each kind (rules, ingress, sources). */
  producers: ReadonlyMap<string, readonly string[]>;
}

/** Where a record went missing: in the lake, or at a system over some flows. */
export type LostAt = { lake: true; kind: string } | { lake: false; receiver: string; flows: readonly string[] };

export const OUTSIDE = '(outside any fault window)';

export const noCauses = (): LossCauses => ({ bufferAtKill: 0, inFlightCall: 0, rabbitmq: 0, broker: 0, lakeSink: 0, unexplained: 0 });

/**
 * The cause of one lost record next to the killed component (see the file's header), or null when
 * it went missing elsewhere on its path (then the order's other losses decide).
 */
export function classifyLoss(w: Pick<FaultWindow, 'component' | 'kind'>, at: LostAt, paths: LossPaths): LossCause | null {
  if (w.kind === 'rabbitmq') return 'rabbitmq';
  if (w.kind === 'broker') return 'broker';
  if (w.kind === 'quorum-leader') return paths.family === 'legacy' ? 'rabbitmq' : 'broker';
  if (w.kind === 'lake-sink') return at.lake ? 'lakeSink' : 'unexplained';
  const s = w.component;
  if (at.lake) return (paths.producers.get(at.kind) ?? []).includes(s) ? 'bufferAtKill' : null;
  const flows = paths.flows.filter((f) => at.flows.includes(f.id));
  const hub = paths.family === 'hub';
  if (flows.some((f) => f.from === s)) return !hub && flows.some((f) => f.from === s && f.transport === 'rest-sync') ? 'inFlightCall' : 'bufferAtKill';
  if (at.receiver === s) {
    if (hub) return 'inFlightCall';
    return flows.some((f) => f.transport === 'rest-sync' || f.transport === 'rest-poll') ? 'inFlightCall' : 'bufferAtKill';
  }
  return null;
}

/** The order a cause is preferred in when an order lost records next to the killed component in several ways. */
const CAUSE_ORDER: readonly LossCause[] = ['inFlightCall', 'bufferAtKill', 'rabbitmq', 'broker', 'lakeSink', 'unexplained'];

/**
 * Per window (and OUTSIDE for accepted orders sent in none, e.g. the warm-up): accepted orders,
 * expected records, records lost (by cause) and duplicated (lake and received discrepancies of the
 * report, counting only records of accepted orders), and the distinct orders among the lost records.
 */
export function attributeLoss(
  report: VerifyReport,
  expected: ExpectedOutcome,
  /** Accepted ingress events by root key (oracle ingressRootKey) and send time. */
  accepted: readonly { root: string; sentAtMs: number }[],
  windows: readonly FaultWindow[],
  paths: LossPaths,
  lookbackMs = 0,
): Map<string, WindowLoss> {
  const out = new Map<string, WindowLoss>();
  const blank = (): WindowLoss => ({ ordersAccepted: 0, recordsExpected: 0, recordsLost: 0, recordsDuplicated: 0, ordersLost: 0, lostByCause: noCauses() });
  for (const w of windows) out.set(w.component, blank());
  out.set(OUTSIDE, blank());
  const windowOf = new Map<string, FaultWindow | null>();
  for (const a of accepted) {
    if (windowOf.has(a.root)) continue;
    const w = windows.find((x) => a.sentAtMs >= x.fromMs - lookbackMs && a.sentAtMs < x.fromMs)
      ?? windows.find((x) => a.sentAtMs >= x.fromMs && a.sentAtMs < x.toMs)
      ?? null;
    windowOf.set(a.root, w);
    out.get(w ? w.component : OUTSIDE)!.ordersAccepted++;
  }
  const rootOf = (kind: string, id: string): string | undefined => expected.rootOf.get(recordKey(kind, id));
  const placeOf = (kind: string, id: string): { root: string; window: FaultWindow | null; loss: WindowLoss } | undefined => {
    const root = rootOf(kind, id);
    if (root === undefined || !windowOf.has(root)) return undefined;
    const window = windowOf.get(root)!;
    return { root, window, loss: out.get(window ? window.component : OUTSIDE)! };
  };
  for (const [kind, byId] of expected.byKind) for (const id of byId.keys()) { const p = placeOf(kind, id); if (p) p.loss.recordsExpected++; }
  for (const byKind of expected.received.values()) for (const [kind, ids] of byKind) for (const id of ids) { const p = placeOf(kind, id); if (p) p.loss.recordsExpected++; }

  // Every lost record with its direct cause (null: not next to the killed component).
  const lost: { loss: WindowLoss; root: string; cause: LossCause | null }[] = [];
  const lose = (kind: string, id: string, at: LostAt): void => {
    const p = placeOf(kind, id);
    if (!p) return;
    lost.push({ loss: p.loss, root: p.root, cause: p.window ? classifyLoss(p.window, at, paths) : 'unexplained' });
  };
  const duplicated = (kind: string, id: string): void => { const p = placeOf(kind, id); if (p) p.loss.recordsDuplicated++; };
  for (const d of report.kinds) {
    d.lost.forEach((id) => lose(d.kind, id, { lake: true, kind: d.kind }));
    d.duplicated.forEach((x) => duplicated(d.kind, x.id));
  }
  for (const d of report.receivers) {
    d.lost.forEach((id) => lose(d.inputKind, id, { lake: false, receiver: d.system, flows: d.flows }));
    d.duplicated.forEach((x) => duplicated(d.inputKind, x.id));
  }
  const orderCause = new Map<string, LossCause>();
  for (const l of lost) {
    if (l.cause === null) continue;
    const had = orderCause.get(l.root);
    if (had === undefined || CAUSE_ORDER.indexOf(l.cause) < CAUSE_ORDER.indexOf(had)) orderCause.set(l.root, l.cause);
  }
  const lostOrders = new Map<WindowLoss, Set<string>>();
  for (const l of lost) {
    l.loss.recordsLost++;
    l.loss.lostByCause[l.cause ?? orderCause.get(l.root) ?? 'unexplained']++;
    let set = lostOrders.get(l.loss);
    if (!set) lostOrders.set(l.loss, (set = new Set()));
    set.add(l.root);
  }
  for (const [b, set] of lostOrders) b.ordersLost = set.size;
  return out;
}
