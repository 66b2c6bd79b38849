// Raft messages between controllers on the wire: each frame on a 'raft' connection is one
// RaftMessage as JSON. Every incoming message is checked here before the Raft core sees it (the core
// trusts its input): shape, integer ranges, sender, contiguous entries, each command through the
// metadata record schema and a snapshot through the metadata snapshot loader. A message that fails is bad input: its connection is closed with the reason.
import { z } from 'zod';
import type { RaftMessage } from '../raft/index.ts';
import { describeZodError } from './rpc.ts';
import { decodeCommand, deserializeSnapshot, type MetadataCommand } from '../metadata/index.ts';

/** Bound on entries in one AppendEntries (the core sends at most maxEntriesPerAppend, 64 by default). */
export const MAX_ENTRIES_PER_MESSAGE = 4096;

const id = z.number().int().min(0).max(2 ** 31 - 1);
const n = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const envelope = { from: id, to: id, term: n };

const entrySchema = z.discriminatedUnion('kind', [
  z.strictObject({ index: n, term: n, kind: z.literal('noop') }),
  z.strictObject({ index: n, term: n, kind: z.literal('command'), command: z.unknown() }),
]);

const messageSchema = z.discriminatedUnion('type', [
  z.strictObject({ ...envelope, type: z.literal('RequestVote'), lastLogIndex: n, lastLogTerm: n }),
  z.strictObject({ ...envelope, type: z.literal('RequestVoteResponse'), granted: z.boolean() }),
  z.strictObject({ ...envelope, type: z.literal('AppendEntries'), prevLogIndex: n, prevLogTerm: n, entries: z.array(entrySchema).max(MAX_ENTRIES_PER_MESSAGE), leaderCommit: n }),
  z.strictObject({ ...envelope, type: z.literal('AppendEntriesResponse'), success: z.boolean(), matchIndex: n, rejectedIndex: n, conflictTerm: n, conflictIndex: n }),
  // Snapshot transfer (the whole metadata state in one message; the frame limit bounds it).
  z.strictObject({ ...envelope, type: z.literal('InstallSnapshot'), lastIncludedIndex: n, lastIncludedTerm: n, data: z.string() }),
  z.strictObject({ ...envelope, type: z.literal('InstallSnapshotResponse'), matchIndex: n }),
]);

/** Checks a Raft message received from voter `from` for node `self`; throws an Error naming what is wrong. */
export function decodeRaftMessage(value: unknown, from: number, self: number): RaftMessage<MetadataCommand> {
  const parsed = messageSchema.safeParse(value);
  if (!parsed.success) throw new Error(`invalid raft message: ${describeZodError(parsed.error)}`);
  const m = parsed.data;
  if (m.from !== from) throw new Error(`raft message claims to be from ${m.from} on a connection from controller ${from}`);
  if (m.to !== self) throw new Error(`raft message for controller ${m.to} arrived at controller ${self}`);
  if (m.type === 'InstallSnapshot') {
    // Checked here as well as on install: a bad snapshot must not reach the Raft core's storage.
    const loaded = deserializeSnapshot(m.data);
    if (!loaded.ok) throw new Error(`InstallSnapshot from ${from}: ${loaded.error}`);
  }
  // The cast lets this compile against a core without the snapshot messages as well.
  if (m.type !== 'AppendEntries') return m as unknown as RaftMessage<MetadataCommand>;
  const entries = m.entries.map((e, i) => {
    if (e.index !== m.prevLogIndex + 1 + i) throw new Error(`AppendEntries from ${from}: entry ${i} has index ${e.index}, expected ${m.prevLogIndex + 1 + i}`);
    if (e.term > m.term || e.term < (i === 0 ? m.prevLogTerm : m.entries[i - 1].term)) throw new Error(`AppendEntries from ${from}: entry ${e.index} has term ${e.term} out of order`);
    if (e.kind === 'noop') return e;
    const decoded = decodeCommand(e.command);
    if (!decoded.ok) throw new Error(`AppendEntries from ${from}: entry ${e.index}: ${decoded.error}`);
    return { ...e, command: decoded.command };
  });
  return { ...m, entries };
}
