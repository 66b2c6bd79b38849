/**
 * A system's business side, the same in both layouts and for every landscape: validate a received
 * record against its kind, spend the rule's declared CPU cost, wait the rule's declared delay, run
 * the rule (systems/model/), and remember what arrived (for the oracle). The wiring (REST, AMQP,
 * batch files, Kafka) calls `handle` and carries the records it returns onwards.
 */
import { existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { createHash } from 'node:crypto';
import { modelOf, RecipeError, type EmittedRecord, type SystemBehaviour } from '../model/landscape-model.ts';
import type { RecordKinds } from '../model/kinds.ts';
import type { SystemSpec, Topology } from '../topology/index.ts';

/** Record ids remembered per input kind for the oracle; beyond this only counts are kept. */
export const RECEIVED_IDS_MAX = 1_000_000;

export type ProcessResult =
  | { ok: true; outputs: EmittedRecord[] }
  | { ok: false; reason: string };

/**
 * What a system has received, per input kind: the record ids in arrival order, and how many.
 * `atMs[i]` is when `ids[i]` arrived (epoch ms, this process's clock, taken when the record was
 * processed); both arrays are bounded by RECEIVED_IDS_MAX together, so they always line up.
 */
export interface ReceivedState {
  [kind: string]: { count: number; ids: string[]; atMs?: number[]; truncated: boolean };
}

/**
 * A real busy loop of about `costUs` microseconds of CPU: repeated sha256 hashing, checking the
 * clock every few rounds. Returns the number of hash rounds done (so the work cannot be elided).
 */
export function burnCpu(costUs: number): number {
  if (!(costUs > 0)) return 0;
  const deadline = process.hrtime.bigint() + BigInt(Math.round(costUs * 1000));
  let digest = Buffer.alloc(32);
  let rounds = 0;
  do {
    for (let i = 0; i < 8; i++) {
      digest = createHash('sha256').update(digest).digest();
      rounds++;
    }
  } while (process.hrtime.bigint() < deadline);
  return rounds + (digest[0] & 0);
}

export class SystemCore {
  readonly behaviour: SystemBehaviour;
  readonly kinds: RecordKinds;
  private readonly received = new Map<string, { count: number; ids: string[]; atMs: number[] }>();
  readonly producedByKind = new Map<string, number>();
  rejected = 0;
  ruleFailures = 0;

  private readonly journalFd: number | null = null;

  /**
   * `now` stamps each arrival (tests pass a fake clock). `journalFile`: the system's own record of
   * what it handled, kept across restarts (as a real system's database would be), so a system that
   * is killed and restarted still answers for what it received before; appended one line per
   * record with a plain write (a kill -9 loses nothing already written; an OS crash may).
   */
  constructor(readonly spec: SystemSpec, topology: Topology, private readonly now: () => number = Date.now, journalFile?: string) {
    const model = modelOf(topology);
    this.behaviour = model.behaviour(spec.id);
    this.kinds = model.kinds;
    if (journalFile) {
      mkdirSync(dirname(journalFile), { recursive: true });
      const text = existsSync(journalFile) ? readFileSync(journalFile, 'utf8') : '';
      this.replay(text);
      this.journalFd = openSync(journalFile, 'a');
      // End a torn last line, so the next entry starts on its own line.
      if (text.length > 0 && !text.endsWith('\n')) writeSync(this.journalFd, '\n');
    }
  }

  private replay(text: string): void {
    for (const line of text.split('\n')) {
      const [kind, id, at] = line.split('\t');
      // A torn last line (killed mid-write) has no time: it was not handled to the end; skip it.
      if (!kind || id === undefined || !at || !Number.isFinite(Number(at))) continue;
      this.add(kind, id, Number(at));
    }
  }

  /** The data kinds this system has rules for. */
  inputKinds(): string[] {
    return this.behaviour.inputKinds();
  }

  /**
   * Validates a record of the ingress kind `kind` taken from outside and spends the system's
   * declared cost on it; the ingress emits it as it is.
   */
  accept(kind: string, value: unknown): ProcessResult {
    if (!this.spec.ingress.some((g) => g.kind === kind)) return this.reject(`system ${this.spec.id} takes no ${kind} records from outside`);
    const v = this.kinds.validate(kind, value);
    if (!v.ok) return this.reject(v.reason);
    burnCpu(this.spec.costPerMessageUs);
    this.count(kind);
    return { ok: true, outputs: [{ kind, record: v.record }] };
  }

  /** A record this system made itself (a scheduled source): the declared cost is spent, and it is counted as produced. */
  produced(kind: string): void {
    burnCpu(this.spec.costPerMessageUs);
    this.count(kind);
  }

  /**
   * Handles one received record: validate, spend the declared cost, run the rule, remember it,
   * wait the declared delay. A record that is not valid, or on which the rule fails, is refused
   * with a reason (the wiring answers 400, dead-letters or quarantines it).
   */
  async handle(inputKind: string, value: unknown): Promise<ProcessResult> {
    const rule = this.behaviour.rule(inputKind);
    if (!rule) return this.reject(`system ${this.spec.id} has no rule for ${inputKind} records`);
    const valid = this.kinds.validate(inputKind, value);
    if (!valid.ok) return this.reject(valid.reason);
    burnCpu(rule.costUs);
    let outputs: EmittedRecord[];
    try {
      outputs = rule.apply(valid.record);
    } catch (err) {
      if (!(err instanceof RecipeError)) throw err;
      this.ruleFailures++;
      return this.reject(err.message);
    }
    this.remember(inputKind, rule.input.idOf(valid.record));
    for (const o of outputs) this.count(o.kind);
    if (rule.delayMs > 0) await new Promise((r) => setTimeout(r, rule.delayMs));
    return { ok: true, outputs };
  }

  private count(kind: string): void {
    this.producedByKind.set(kind, (this.producedByKind.get(kind) ?? 0) + 1);
  }

  private reject(reason: string): ProcessResult {
    this.rejected++;
    return { ok: false, reason };
  }

  private remember(kind: string, id: string): void {
    const at = this.now();
    if (this.add(kind, id, at) && this.journalFd !== null) writeSync(this.journalFd, `${kind}\t${id}\t${at}\n`);
  }

  /** False when the ids are at their limit (then only the count grows, and is not journalled). */
  private add(kind: string, id: string, at: number): boolean {
    let entry = this.received.get(kind);
    if (!entry) this.received.set(kind, (entry = { count: 0, ids: [], atMs: [] }));
    entry.count++;
    if (entry.ids.length >= RECEIVED_IDS_MAX) return false;
    entry.ids.push(id);
    entry.atMs.push(at);
    return true;
  }

  receivedState(): ReceivedState {
    const out: ReceivedState = {};
    for (const [kind, e] of this.received) out[kind] = { count: e.count, ids: e.ids, atMs: e.atMs, truncated: e.count > e.ids.length };
    return out;
  }
}
