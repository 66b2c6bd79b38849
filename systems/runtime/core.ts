/**
 * A system's business side, the same in both layouts and for every landscape: validate a received
 * record against its kind, spend the rule's declared CPU cost, wait the rule's declared delay, run
 * the rule (systems/model/), and remember what arrived (for the oracle). The wiring (REST, AMQP,
 * batch files, Kafka) calls `handle` and carries the records it returns onwards.
 *
 * Delivery (practices.ts): `at-least-once` applies whatever arrives, a redelivered record again.
 * `idempotent` applies a record once per system: one whose identity is already in the system's
 * received journals (this instance's or a sibling's, see received-journal.ts) is not applied again
 * (no CPU cost, no delay, not remembered nor counted), but its outputs are returned again, flagged
 * `repeat` (the rules are pure), so the wiring hands them over again: a crash between applying a
 * record and handing its outputs over loses nothing, and the receivers skip what they already have.
 *
 * The CPU of each step is counted for the benchmark (systems/process/cpu-meter.ts): the declared
 * cost as `declaredWork`, validation and the rule itself as `rules`.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { createHash } from 'node:crypto';
import { modelOf, RecipeError, type EmittedRecord, type SystemBehaviour } from '../model/landscape-model.ts';
import type { RecordKinds } from '../model/kinds.ts';
import type { SystemSpec, Topology } from '../topology/index.ts';
import type { Practices } from './practices.ts';
import { AppliedIds, journalLine, parseJournalLine } from './received-journal.ts';
import { measureCpu } from '../process/cpu-meter.ts';

/**
 * Record ids remembered per input kind for the oracle; beyond this only counts are kept. With
 * delivery=idempotent it is also the bound of the memory of applied records: a record beyond it is
 * not remembered, so a repeat of it is applied again.
 */
export const RECEIVED_IDS_MAX = 1_000_000;

/** `repeat`: delivery=idempotent and the record was applied before; the outputs are the same as then, to hand over again. */
export type ProcessResult =
  | { ok: true; outputs: EmittedRecord[]; repeat?: true }
  | { ok: false; reason: string };

export interface SystemCoreOptions {
  /** How redelivered records are treated (see the file comment). Default at-least-once. */
  delivery?: Practices['delivery'];
  /** delivery=idempotent: the received journals of the system's other instances, read to know what they applied. */
  siblingJournals?: readonly string[];
  /** Ids remembered per input kind. Default RECEIVED_IDS_MAX. */
  idsMax?: number;
}

/**
 * What a system has received, per input kind: the record ids in arrival order, and how many.
 * `atMs[i]` is when `ids[i]` arrived (epoch ms, this process's clock, taken when the record was
 * processed); both arrays are bounded by RECEIVED_IDS_MAX together, so they always line up.
 */
export interface ReceivedState {
  [kind: string]: { count: number; ids: string[]; atMs?: number[]; truncated: boolean };
}

/**
 * A real busy loop of `costUs` microseconds of this process's CPU: repeated sha256 hashing until
 * the process's CPU time (process.cpuUsage) has grown by costUs, checked every few rounds. CPU
 * time, not the wall clock: on a busy machine a process that is descheduled mid-loop still spends
 * what the topology declares, so the declared work measured in the cost figures matches the YAML.
 * Returns the number of hash rounds done (so the work cannot be elided).
 */
export function burnCpu(costUs: number): number {
  if (!(costUs > 0)) return 0;
  const used = (): number => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  const until = used() + costUs;
  let digest = Buffer.alloc(32);
  let rounds = 0;
  do {
    for (let i = 0; i < 8; i++) {
      digest = createHash('sha256').update(digest).digest();
      rounds++;
    }
  } while (used() < until);
  return rounds + (digest[0] & 0);
}

export class SystemCore {
  readonly behaviour: SystemBehaviour;
  readonly kinds: RecordKinds;
  private readonly received = new Map<string, { count: number; ids: string[]; atMs: number[] }>();
  readonly producedByKind = new Map<string, number>();
  rejected = 0;
  ruleFailures = 0;
  /** delivery=idempotent: records received again and not applied again (their outputs were handed over again). */
  repeatsSkipped = 0;

  private journalFd: number | null = null;
  /** delivery=idempotent: what this system applied; null with at-least-once. */
  private readonly applied: AppliedIds | null;
  private readonly idsMax: number;

  /**
   * `now` stamps each arrival (tests pass a fake clock). `journalFile`: the system's own record of
   * what it handled, kept across restarts (as a real system's database would be), so a system that
   * is killed and restarted still answers for what it received before; appended one line per
   * record with a plain write (a kill -9 loses nothing already written; an OS crash may).
   */
  constructor(readonly spec: SystemSpec, topology: Topology, private readonly now: () => number = Date.now, journalFile?: string, options: SystemCoreOptions = {}) {
    const model = modelOf(topology);
    this.behaviour = model.behaviour(spec.id);
    this.kinds = model.kinds;
    this.idsMax = options.idsMax ?? RECEIVED_IDS_MAX;
    this.applied = options.delivery === 'idempotent' ? new AppliedIds(options.siblingJournals) : null;
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
      // A torn last line (killed mid-write) has no time: it was not handled to the end; skip it.
      const e = parseJournalLine(line);
      if (e) this.add(e.kind, e.id, e.atMs);
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
    const v = measureCpu('rules', () => this.kinds.validate(kind, value));
    if (!v.ok) return this.reject(v.reason);
    measureCpu('declaredWork', () => burnCpu(this.spec.costPerMessageUs));
    this.count(kind);
    return { ok: true, outputs: [{ kind, record: v.record }] };
  }

  /** A record this system made itself (a scheduled source): the declared cost is spent, and it is counted as produced. */
  produced(kind: string): void {
    measureCpu('declaredWork', () => burnCpu(this.spec.costPerMessageUs));
    this.count(kind);
  }

  /**
   * Handles one received record: validate, spend the declared cost, run the rule, remember it,
   * wait the declared delay. A record that is not valid, or on which the rule fails, is refused
   * with a reason (the wiring answers 400, dead-letters or quarantines it). With
   * delivery=idempotent a record already applied only runs the rule again, for its outputs (`repeat`).
   */
  async handle(inputKind: string, value: unknown): Promise<ProcessResult> {
    const rule = this.behaviour.rule(inputKind);
    if (!rule) return this.reject(`system ${this.spec.id} has no rule for ${inputKind} records`);
    const valid = measureCpu('rules', () => this.kinds.validate(inputKind, value));
    if (!valid.ok) return this.reject(valid.reason);
    const id = rule.input.idOf(valid.record);
    const applied = this.applied;
    const repeated = applied?.has(inputKind, id) ?? false;
    // Applied before (by this instance or a sibling, before or after a restart): its outputs again, nothing else.
    if (!repeated) measureCpu('declaredWork', () => burnCpu(rule.costUs));
    let outputs: EmittedRecord[];
    try {
      outputs = measureCpu('rules', () => rule.apply(valid.record));
    } catch (err) {
      if (!(err instanceof RecipeError)) throw err;
      this.ruleFailures++;
      return this.reject(err.message);
    }
    // Else asked again right before journalling (nothing awaited in between): a sibling may have
    // applied the same record while this one spent its CPU cost.
    if (repeated || applied?.has(inputKind, id)) {
      this.repeatsSkipped++;
      return { ok: true, outputs, repeat: true };
    }
    this.remember(inputKind, id);
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
    if (this.add(kind, id, at) && this.journalFd !== null) writeSync(this.journalFd, journalLine(kind, id, at));
  }

  /**
   * False when the ids are at their limit (then only the count grows, and is not journalled; with
   * delivery=idempotent the id is not remembered either, so its repeat is applied again).
   */
  private add(kind: string, id: string, at: number): boolean {
    let entry = this.received.get(kind);
    if (!entry) this.received.set(kind, (entry = { count: 0, ids: [], atMs: [] }));
    entry.count++;
    if (entry.ids.length >= this.idsMax) return false;
    entry.ids.push(id);
    entry.atMs.push(at);
    this.applied?.add(kind, id);
    return true;
  }

  /** Closes the journal and the siblings' journals it follows. */
  close(): void {
    if (this.journalFd !== null) closeSync(this.journalFd);
    this.journalFd = null;
    this.applied?.close();
  }

  receivedState(): ReceivedState {
    const out: ReceivedState = {};
    for (const [kind, e] of this.received) out[kind] = { count: e.count, ids: e.ids, atMs: e.atMs, truncated: e.count > e.ids.length };
    return out;
  }
}
