/**
 * Attributing the oracle's findings to the faults: every lost or duplicated record (in the lake or
 * at a receiving system) belongs to the ingress event it came from (the oracle's rootOf), and an
 * event belongs to the fault whose window it was sent in. A window reaches back `lookbackMs` before the kill: what a process
 * held in memory when it died (a batch not yet written, an export not yet flushed) came from
 * orders sent up to one schedule period earlier. Where a look-back overlaps the previous fault's
 * window, the later fault takes the order: its kill is what destroyed the buffered state.
 */
import { recordKey, type ExpectedOutcome, type VerifyReport } from '../../../systems/oracle/index.ts';

export interface FaultWindow {
  component: string;
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
}

export const OUTSIDE = '(outside any fault window)';

/**
 * Per window (and OUTSIDE for accepted orders sent in none, e.g. the warm-up): accepted orders,
 * expected records, records lost and duplicated (lake and received discrepancies of the report,
 * counting only records of accepted orders), and the distinct orders among the lost records.
 */
export function attributeLoss(
  report: VerifyReport,
  expected: ExpectedOutcome,
  /** Accepted ingress events by root key (oracle ingressRootKey) and send time. */
  accepted: readonly { root: string; sentAtMs: number }[],
  windows: readonly FaultWindow[],
  lookbackMs = 0,
): Map<string, WindowLoss> {
  const out = new Map<string, WindowLoss>();
  const blank = (): WindowLoss => ({ ordersAccepted: 0, recordsExpected: 0, recordsLost: 0, recordsDuplicated: 0, ordersLost: 0 });
  for (const w of windows) out.set(w.component, blank());
  out.set(OUTSIDE, blank());
  const windowOf = new Map<string, string>();
  for (const a of accepted) {
    const w = windows.find((x) => a.sentAtMs >= x.fromMs - lookbackMs && a.sentAtMs < x.fromMs)
      ?? windows.find((x) => a.sentAtMs >= x.fromMs && a.sentAtMs < x.toMs);
    const name = w ? w.component : OUTSIDE;
    if (windowOf.has(a.root)) continue;
    windowOf.set(a.root, name);
    out.get(name)!.ordersAccepted++;
  }
  const rootOf = (kind: string, id: string): string | undefined => expected.rootOf.get(recordKey(kind, id));
  const bucketOf = (kind: string, id: string): WindowLoss | undefined => {
    const root = rootOf(kind, id);
    const name = root === undefined ? undefined : windowOf.get(root);
    return name === undefined ? undefined : out.get(name);
  };
  for (const [kind, byId] of expected.byKind) for (const id of byId.keys()) { const b = bucketOf(kind, id); if (b) b.recordsExpected++; }
  for (const byKind of expected.received.values()) for (const [kind, ids] of byKind) for (const id of ids) { const b = bucketOf(kind, id); if (b) b.recordsExpected++; }

  const lostOrders = new Map<WindowLoss, Set<string>>();
  const lost = (kind: string, id: string): void => {
    const b = bucketOf(kind, id);
    if (!b) return;
    b.recordsLost++;
    let set = lostOrders.get(b);
    if (!set) lostOrders.set(b, (set = new Set()));
    set.add(rootOf(kind, id)!);
  };
  const duplicated = (kind: string, id: string): void => { const b = bucketOf(kind, id); if (b) b.recordsDuplicated++; };
  for (const d of report.kinds) {
    d.lost.forEach((id) => lost(d.kind, id));
    d.duplicated.forEach((x) => duplicated(d.kind, x.id));
  }
  for (const d of report.receivers) {
    d.lost.forEach((id) => lost(d.inputKind, id));
    d.duplicated.forEach((x) => duplicated(d.inputKind, x.id));
  }
  for (const [b, set] of lostOrders) b.ordersLost = set.size;
  return out;
}
