// The one place the controller touches Raft snapshots / log compaction: RaftNode.compact(index,
// data) (the metadata state up to `index` is `data`; the log before it may go), Ready.snapshot (a
// snapshot installed from the leader replaces the state machine) and RaftNode.initialSnapshot()
// (what a restarted node starts from). raft-wire.ts carries InstallSnapshot / InstallSnapshotResponse.
import type { RaftNode, RaftSnapshot, Ready } from '../raft/index.ts';
import type { MetadataCommand } from '../metadata/index.ts';

export type { RaftSnapshot };

type Node = RaftNode<MetadataCommand>;

/** The snapshot a (re)started node holds, to load before applying committed entries after it. */
export function initialSnapshot(node: Node): RaftSnapshot | null {
  return node.initialSnapshot();
}

/** A snapshot the leader sent, which replaces the state machine before Ready.committed is applied. */
export function installedSnapshot(ready: Ready<MetadataCommand>): RaftSnapshot | null {
  return ready.snapshot;
}

/** Compacts the log up to `index` (applied) whose state `data()` serializes (null: skip); false when not done. */
export function compactLog(node: Node, index: number, data: () => string | null): boolean {
  const text = data();
  if (text === null) return false;
  node.compact(index, text);
  return true;
}
