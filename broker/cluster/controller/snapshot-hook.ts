// SNAPSHOT HOOK: the one place the controller touches Raft snapshots / log compaction.
//
// The Raft core is getting snapshots with this API: RaftNode.compact(index, data) (the state machine
// up to `index` is `data`; the log before it may go), Ready.snapshot ({index, term, data} | null: a
// snapshot installed from the leader replaces the state machine), and RaftNode.initialSnapshot()
// (what a restarted node starts from). Until it lands, every function here checks at run time
// whether the core has the API and does nothing if not, so the controller works either way (without
// compaction the log grows and a restart replays it from index 1).
//
// To finish once the API has landed for good: drop the casts below and call the node directly.
// raft-wire.ts already accepts InstallSnapshot / InstallSnapshotResponse (it closes the connection on
// any message type it does not know).
import type { RaftNode, Ready } from '../raft/index.ts';
import type { MetadataCommand } from '../metadata/index.ts';

export interface RaftSnapshot {
  readonly index: number;
  readonly term: number;
  /** serializeSnapshot() of the metadata state after applying every entry up to `index`. */
  readonly data: string;
}

interface SnapshotApi {
  compact?: (index: number, data: string) => unknown;
  initialSnapshot?: () => RaftSnapshot | null;
}

type Node = RaftNode<MetadataCommand>;

/** The snapshot a (re)started node holds, to load before applying committed entries after it. */
export function initialSnapshot(node: Node): RaftSnapshot | null {
  const api = node as unknown as SnapshotApi;
  return typeof api.initialSnapshot === 'function' ? api.initialSnapshot.call(node) : null;
}

/** A snapshot the leader sent, which replaces the state machine before Ready.committed is applied. */
export function installedSnapshot(ready: Ready<MetadataCommand>): RaftSnapshot | null {
  return (ready as { snapshot?: RaftSnapshot | null }).snapshot ?? null;
}

/** Compacts the log up to `index` (applied) whose state `data()` serializes (null: skip); false when not done. */
export function compactLog(node: Node, index: number, data: () => string | null): boolean {
  const api = node as unknown as SnapshotApi;
  if (typeof api.compact !== 'function') return false;
  const text = data();
  if (text === null) return false;
  api.compact.call(node, index, text);
  return true;
}
