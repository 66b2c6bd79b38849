// ControllerCore: one controller's Raft node, its durable log and its copy of the metadata state.
// It drives RaftNode (tick on a timer, messages from the transport), sends Ready.messages, applies
// Ready.committed to MetadataState with metadata/state.ts's apply(), and settles the proposals this
// controller made. Deciding what to propose is operations.ts's job; serving brokers is sessions.ts's.
import { RaftNode, FileRaftStorage, type LogEntry, type Ready } from '../raft/index.ts';
import { apply, decodeCommand, deserializeSnapshot, emptyMetadataState, serializeSnapshot, type ApplyResult, type MetadataCommand, type MetadataState } from '../metadata/index.ts';
import { ControllerError } from './rpc.ts';
import { ProposalTracker } from './proposals.ts';
import { decodeRaftMessage } from './raft-wire.ts';
import { compactLog, initialSnapshot, installedSnapshot, type RaftSnapshot } from './snapshot-hook.ts';
import type { ControllerTransport } from './transport.ts';

/** Milliseconds from a monotonic clock: leases and Raft timing must not jump with the wall clock. */
export const monotonicNow = (): number => Math.floor(performance.now());

export interface CoreSettings {
  readonly nodeId: number;
  readonly voterIds: readonly number[];
  readonly dir: string;
  readonly electionTimeoutMinMs: number;
  readonly electionTimeoutMaxMs: number;
  readonly heartbeatIntervalMs: number;
  readonly maxEntriesPerAppend: number;
  readonly maxEntryBytes: number;
  readonly brokerSessionTimeoutMs: number;
  readonly snapshotEveryEntries: number;
  /** A snapshot must fit in one InstallSnapshot frame; a larger state is not compacted (logged). */
  readonly maxSnapshotBytes: number;
  readonly log: (line: string) => void;
  /** Called when the node cannot go on (storage failure, safety violation); the owner shuts down. */
  readonly onFatal: (err: Error) => void;
}

/** The storage codec: commands are checked again when read back, so a bad record is an error, not a guess. */
const codec = {
  encode: (c: MetadataCommand): unknown => c,
  decode: (value: unknown): MetadataCommand => {
    const r = decodeCommand(value);
    if (!r.ok) throw new Error(r.error);
    return r.command;
  },
};

export class ControllerCore {
  readonly node: RaftNode<MetadataCommand>;
  private readonly storage: FileRaftStorage<MetadataCommand>;
  private transport: ControllerTransport | null = null;
  private current: MetadataState;
  private appliedIndex = 0;
  private appliedTerm = 0;
  private sinceSnapshot = 0;
  private readonly proposals = new ProposalTracker();
  private snapshotCache: { state: MetadataState; text: string } | null = null;
  private lastView = '';
  private draining = false;
  private failed = false;
  /** Called after every step that changed the state, the role, the leader or activeness. */
  onChange: () => void = () => {};

  constructor(private readonly settings: CoreSettings) {
    this.storage = new FileRaftStorage<MetadataCommand>(settings.dir, { codec, maxEntryBytes: settings.maxEntryBytes, log: settings.log });
    try {
      this.node = new RaftNode<MetadataCommand>({
        id: settings.nodeId,
        voters: settings.voterIds,
        storage: this.storage,
        random: Math.random,
        nowMs: monotonicNow(),
        electionTimeoutMinMs: settings.electionTimeoutMinMs,
        electionTimeoutMaxMs: settings.electionTimeoutMaxMs,
        heartbeatIntervalMs: settings.heartbeatIntervalMs,
        maxEntriesPerAppend: settings.maxEntriesPerAppend,
      });
      this.current = emptyMetadataState({ brokerSessionTimeoutMs: settings.brokerSessionTimeoutMs });
      const snap = initialSnapshot(this.node);
      if (snap) this.install(snap);
    } catch (err) {
      this.storage.close();
      throw err;
    }
  }

  attach(transport: ControllerTransport): void {
    this.transport = transport;
  }

  get state(): MetadataState {
    return this.current;
  }

  /** Leader of the current term whose state includes every earlier committed entry (its no-op has applied). */
  isActive(): boolean {
    return !this.failed && this.node.role === 'leader' && this.appliedTerm === this.node.currentTerm;
  }

  leaderId(): number | null {
    return this.failed ? null : this.node.leaderId;
  }

  /** The whole state in snapshot.ts form, serialized once per state for every long poll that wants it. */
  snapshotText(): string {
    if (this.snapshotCache?.state !== this.current) this.snapshotCache = { state: this.current, text: serializeSnapshot(this.current) };
    return this.snapshotCache.text;
  }

  tick(): void {
    this.step(() => this.node.tick(monotonicNow()));
  }

  /** A frame from controller `from`; throws (closing that connection) when it is not a valid Raft message. */
  receive(from: number, value: unknown): void {
    const message = decodeRaftMessage(value, from, this.settings.nodeId);
    this.step(() => this.node.receive(message));
  }

  /**
   * Proposes a command built for the index it will get (a broker epoch is its registration's index)
   * and waits for it to commit: apply()'s result, which may be a normal refusal such as NO_CHANGE.
   */
  propose(build: MetadataCommand | ((index: number) => MetadataCommand), timeoutMs: number): Promise<ApplyResult> {
    if (!this.isActive()) return Promise.reject(new ControllerError('NOT_CONTROLLER', `controller ${this.settings.nodeId} is not the active controller`, this.leaderId()));
    const decoded = decodeCommand(typeof build === 'function' ? build(this.node.lastLogIndex + 1) : build);
    if (!decoded.ok) return Promise.reject(new ControllerError('INVALID_REQUEST', decoded.error));
    const bytes = Buffer.byteLength(JSON.stringify(decoded.command)) + 128; // + the entry's index, term and kind
    if (bytes > this.settings.maxEntryBytes) {
      return Promise.reject(new ControllerError('INVALID_REQUEST', `the ${decoded.command.type} record would take ${bytes} bytes, over the limit of ${this.settings.maxEntryBytes} bytes per metadata record`));
    }
    let result: ReturnType<RaftNode<MetadataCommand>['propose']> | undefined;
    let committed: Promise<ApplyResult> | undefined;
    this.step(() => {
      result = this.node.propose(decoded.command);
      if (!result.ok) return null;
      // Tracked before the Ready is handled: a single voter commits the entry in that same Ready.
      committed = this.proposals.wait(result.index, result.term, timeoutMs, () => this.noQuorumError(`${decoded.command.type} not committed within ${timeoutMs} ms`));
      return result.ready;
    });
    if (!result) return Promise.reject(new ControllerError('INTERNAL_ERROR', `controller ${this.settings.nodeId} failed while proposing`));
    if (!result.ok) {
      if (result.reason === 'not-leader') return Promise.reject(new ControllerError('NOT_CONTROLLER', `controller ${this.settings.nodeId} is not the active controller`, result.leaderId));
      return Promise.reject(new ControllerError('BUSY', `controller busy: ${result.limit} metadata records already wait for a majority; retry later`));
    }
    return committed!;
  }

  /** NO_QUORUM, naming how many voters this controller reaches and what still works without a majority. */
  noQuorumError(what: string): ControllerError {
    const total = this.settings.voterIds.length;
    const reachable = 1 + (this.transport?.connectedPeers().length ?? 0);
    const majority = Math.floor(total / 2) + 1;
    const leader = this.leaderId();
    const who = leader === null ? 'no active controller is known' : `the active controller is ${leader}`;
    return new ControllerError(
      'NO_QUORUM',
      `${what}: no controller quorum (controller ${this.settings.nodeId} reaches ${reachable} of ${total} controllers, a majority needs ${majority}; ${who}). ` +
        'Until a majority is back, brokers keep serving produce and fetch on partitions with their current leaders using the last metadata they have; ' +
        'no topic changes, no ISR changes and no leader failover.',
    );
  }

  close(): void {
    this.failed = true;
    this.proposals.failAll(() => new ControllerError('NOT_CONTROLLER', `controller ${this.settings.nodeId} is shutting down`));
    this.storage.close();
  }

  /** Runs one call into the node and handles its Ready. A throw from the node is fatal. */
  private step(call: () => Ready<MetadataCommand> | null): void {
    if (this.failed) return;
    try {
      const ready = call();
      if (ready) this.handle(ready);
    } catch (err) {
      this.failed = true;
      this.settings.log(`controller ${this.settings.nodeId} stopped: ${(err as Error).message}`);
      this.settings.onFatal(err as Error);
      return;
    }
    const view = `${this.node.role}/${this.node.currentTerm}/${this.node.leaderId}/${this.isActive()}/${this.current.offset}`;
    if (view !== this.lastView) {
      this.lastView = view;
      this.onChange();
    }
    // Ready hands out a bounded number of committed entries per call: drain the rest soon, not a tick later.
    if (this.node.lastApplied < this.node.commitIndex && !this.draining) {
      this.draining = true;
      setImmediate(() => {
        this.draining = false;
        this.tick();
      });
    }
  }

  private handle(ready: Ready<MetadataCommand>): void {
    for (const m of ready.messages) this.transport?.send(m.to, m);
    const snap = installedSnapshot(ready);
    if (snap) this.install(snap);
    for (const e of ready.committed) this.applyEntry(e);
    if (this.sinceSnapshot >= this.settings.snapshotEveryEntries) {
      this.sinceSnapshot = 0;
      compactLog(this.node, this.appliedIndex, () => {
        const data = serializeSnapshot(this.current);
        const bytes = Buffer.byteLength(data);
        if (bytes <= this.settings.maxSnapshotBytes) return data;
        this.settings.log(`not compacting the Raft log: the metadata snapshot takes ${bytes} bytes, over the ${this.settings.maxSnapshotBytes} bytes one message can carry`);
        return null;
      });
    }
  }

  private applyEntry(e: LogEntry<MetadataCommand>): void {
    if (e.index <= this.appliedIndex) return; // already covered by an installed snapshot
    let result: ApplyResult | null = null;
    if (e.kind === 'command') {
      result = apply(this.current, e.index, e.command);
      this.current = result.state; // a refused command leaves the same state object
    }
    this.appliedIndex = e.index;
    this.appliedTerm = e.term;
    this.sinceSnapshot++;
    this.proposals.committed(e, result);
  }

  private install(snap: RaftSnapshot): void {
    const loaded = deserializeSnapshot(snap.data);
    if (!loaded.ok) throw new Error(`cannot load the Raft snapshot at index ${snap.index}: ${loaded.error}`);
    this.current = loaded.state;
    this.appliedIndex = snap.index;
    this.appliedTerm = snap.term;
    this.sinceSnapshot = 0;
    this.proposals.failUpTo(snap.index, () => new ControllerError('NOT_CONTROLLER', `outcome unknown: controller ${this.settings.nodeId} lost leadership and installed a snapshot past the proposed entry; check the metadata and retry`));
  }
}
