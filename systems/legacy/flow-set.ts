/**
 * The flow set of one legacy system, as data: which flows it sends and receives for a topology and
 * its peers' addresses, each with everything its transport is built from, and the difference
 * between two such sets (what a peer reload must start, stop or rebuild, and what it must leave
 * running untouched). Pure: no sockets, no files, so a reload's decisions are testable alone.
 */
import { amqpPrefetch, kindOf, restPolicy, type Flow, type Topology } from '../topology/model.ts';

/** `out`: this system sends on the flow; `in`: it receives on it. */
export type FlowSide = 'out' | 'in';

export interface PlannedFlow {
  /** `<side>:<flow id>`: one flow seen from one end (a flow from a system to itself has both). */
  readonly key: string;
  readonly side: FlowSide;
  readonly flow: Flow;
  /**
   * The instances' base URLs the flow talks to: the receiver's for an outgoing rest-sync flow, the
   * sender's feeds for an incoming rest-poll flow; empty for the others (RabbitMQ, batch files).
   */
  readonly peerUrls: readonly string[];
  /** Everything the flow's transport is built from, as one string: equal strings, same transport. */
  readonly config: string;
}

/** A system's flows for one topology and one set of peers, by key. */
export interface FlowPlan {
  readonly systemId: string;
  readonly flows: ReadonlyMap<string, PlannedFlow>;
}

export interface FlowPlanDiff {
  /** In the new plan only: to be built and started. */
  readonly added: PlannedFlow[];
  /** In the old plan only: to be stopped (flushing what they hold). */
  readonly removed: PlannedFlow[];
  /** In both, built differently (another peer address, format, schedule...): stopped and built again. */
  readonly changed: { readonly before: PlannedFlow; readonly after: PlannedFlow }[];
  /** In both, built the same: left running untouched. */
  readonly unchanged: PlannedFlow[];
}

/** Does the flow's transport talk to peer instances by URL on this side? */
function usesPeerUrls(side: FlowSide, flow: Flow): boolean {
  return (side === 'out' && flow.legacy.transport === 'rest-sync') || (side === 'in' && flow.legacy.transport === 'rest-poll');
}

/**
 * What system `systemId` sends and receives in topology `t`, given every peer instance's base URL.
 * Throws a clear error when a flow needs a peer's address that `peers` lacks.
 */
export function planFlows(t: Topology, systemId: string, peers: Readonly<Record<string, readonly string[]>>): FlowPlan {
  const flows = new Map<string, PlannedFlow>();
  const sides: [FlowSide, (f: Flow) => boolean][] = [['out', (f) => f.from === systemId], ['in', (f) => f.to === systemId]];
  for (const [side, mine] of sides) {
    for (const flow of t.flows.filter(mine)) {
      let peerUrls: readonly string[] = [];
      if (usesPeerUrls(side, flow)) {
        const peer = side === 'out' ? flow.to : flow.from;
        const urls = peers[peer];
        if (!urls || urls.length === 0) throw new Error(`system ${systemId}: flow ${flow.id} needs the address of system ${peer} (--peers ${peer}=URL|URL...)`);
        peerUrls = [...urls];
      }
      const transport = flow.legacy.transport;
      const config = JSON.stringify({
        flow,
        peerUrls,
        kind: kindOf(t, flow.data),
        rest: transport === 'rest-sync' || transport === 'rest-poll' ? restPolicy(t, flow) : null,
        prefetch: transport === 'amqp' ? amqpPrefetch(t, flow) : null,
      });
      const key = `${side}:${flow.id}`;
      flows.set(key, { key, side, flow, peerUrls, config });
    }
  }
  return { systemId, flows };
}

/** The plan of a system with no flows yet (what the first build is compared with). */
export function emptyPlan(systemId: string): FlowPlan {
  return { systemId, flows: new Map() };
}

/** What changes from `before` to `after`, in the order of `after` (then of `before` for the removed). */
export function diffFlowPlans(before: FlowPlan, after: FlowPlan): FlowPlanDiff {
  if (before.systemId !== after.systemId) throw new Error(`cannot compare the flows of system ${before.systemId} with those of ${after.systemId}`);
  const added: PlannedFlow[] = [];
  const changed: { before: PlannedFlow; after: PlannedFlow }[] = [];
  const unchanged: PlannedFlow[] = [];
  for (const next of after.flows.values()) {
    const prev = before.flows.get(next.key);
    if (!prev) added.push(next);
    else if (prev.config !== next.config) changed.push({ before: prev, after: next });
    else unchanged.push(prev);
  }
  const removed = [...before.flows.values()].filter((p) => !after.flows.has(p.key));
  return { added, removed, changed, unchanged };
}

/** True when applying the diff changes nothing. */
export function isEmptyDiff(d: FlowPlanDiff): boolean {
  return d.added.length === 0 && d.removed.length === 0 && d.changed.length === 0;
}

/** `+a-i-score(out) -x(in) ~y(out)`: a diff in one line, for a log. */
export function describeDiff(d: FlowPlanDiff): string {
  const name = (p: PlannedFlow): string => `${p.flow.id}(${p.side})`;
  const parts = [...d.added.map((p) => `+${name(p)}`), ...d.removed.map((p) => `-${name(p)}`), ...d.changed.map((c) => `~${name(c.after)}`)];
  return parts.length === 0 ? 'no change' : parts.join(' ');
}

/**
 * True when the system's own rules differ between two topologies: its entry (rules, costs,
 * sources, lake export, instances), the data kinds it takes in or produces, or the constants its
 * expressions may use. A peer reload rewires flows only; a system whose rules changed keeps the
 * rules it started with until it is restarted (its core is built once, at start).
 */
export function rulesChanged(before: Topology, after: Topology, systemId: string): boolean {
  const view = (t: Topology): string => {
    const spec = t.systems.find((s) => s.id === systemId) ?? null;
    const kinds = new Set<string>([...(spec?.produces ?? []), ...(spec?.rules.map((r) => r.input) ?? [])]);
    const { joinsLate: _late, ...rest } = spec ?? { joinsLate: false };
    return JSON.stringify({ spec: spec ? rest : null, kinds: t.dataKinds.filter((k) => kinds.has(k.id)), constants: t.constants });
  };
  return view(before) !== view(after);
}
