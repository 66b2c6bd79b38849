// Bookkeeping of the active controller's own proposals, and the queue that serializes its decisions.
import type { LogEntry } from '../raft/index.ts';
import type { ApplyResult, MetadataCommand } from '../metadata/index.ts';
import { ControllerError } from './rpc.ts';

interface Pending {
  readonly term: number;
  readonly resolve: (result: ApplyResult) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * Proposals waiting for their entry to commit, keyed by (index, term). An entry can be overwritten
 * after a leader change: when the entry committed at a proposal's index has another term, the
 * proposal did not take effect and fails with NOT_CONTROLLER instead of hanging. A proposal that
 * neither commits nor is overwritten by its deadline fails with the caller's timeout error.
 */
export class ProposalTracker {
  private readonly pending = new Map<number, Pending>();

  get size(): number {
    return this.pending.size;
  }

  /** Waits for the entry proposed at (index, term); apply()'s result when it commits. */
  wait(index: number, term: number, timeoutMs: number, onTimeout: () => Error): Promise<ApplyResult> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(index);
        reject(onTimeout());
      }, Math.max(0, timeoutMs));
      this.pending.get(index)?.reject(new ControllerError('NOT_CONTROLLER', `log index ${index} was proposed again`));
      this.pending.set(index, { term, resolve, reject, timer });
    });
  }

  /** Settles the proposal at a committed entry's index; `result` is apply()'s result for commands. */
  committed(entry: LogEntry<MetadataCommand>, result: ApplyResult | null): void {
    const p = this.pending.get(entry.index);
    if (!p) return;
    this.pending.delete(entry.index);
    clearTimeout(p.timer);
    if (p.term === entry.term && result) p.resolve(result);
    else p.reject(new ControllerError('NOT_CONTROLLER', `the entry proposed at log index ${entry.index} in term ${p.term} was replaced by one of term ${entry.term} after a leader change; the request did not take effect, retry it`));
  }

  /** Fails every proposal at or below `index` (their entries were skipped by an installed snapshot). */
  failUpTo(index: number, err: () => Error): void {
    for (const [i, p] of this.pending) {
      if (i > index) continue;
      this.pending.delete(i);
      clearTimeout(p.timer);
      p.reject(err());
    }
  }

  failAll(err: () => Error): void {
    this.failUpTo(Number.MAX_SAFE_INTEGER, err);
  }
}

/**
 * Runs the active controller's decisions (register, unfence, create/delete/alter, fencing and leader
 * election) one at a time, each computed from the state that includes every earlier decision's
 * outcome. Decisions are rare and commit in milliseconds, so one at a time costs little and rules
 * out two decisions computed from the same state (the epochs in the records would reject the second
 * anyway, but as a confusing error). The queue is bounded; a decision that waited past its
 * deadline fails without running.
 */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;

  constructor(private readonly maxQueued: number) {}

  get length(): number {
    return this.queued;
  }

  run<T>(timeoutMs: number, fn: () => Promise<T>, onTimeout: () => Error): Promise<T> {
    if (this.queued >= this.maxQueued) return Promise.reject(new ControllerError('BUSY', `controller busy: ${this.queued} requests already wait for a decision (limit ${this.maxQueued}); retry later`));
    this.queued++;
    return new Promise<T>((resolve, reject) => {
      let expired = false;
      const timer = setTimeout(() => {
        expired = true;
        reject(onTimeout());
      }, Math.max(0, timeoutMs));
      this.tail = this.tail.then(async () => {
        this.queued--;
        if (expired) return;
        clearTimeout(timer);
        try {
          resolve(await fn());
        } catch (err) {
          reject(err);
        }
      });
    });
  }
}
