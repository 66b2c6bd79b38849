/**
 * A system's scheduled sources (a nightly master-data export, a periodic price update): every
 * `everyMs` the next tick's records are made (systems/model/, from the run's seed, so the oracle
 * can make the same ones) and emitted through the system's wiring. Ticks are journalled in the
 * system's shared state folder before and after they are emitted: a restarted system goes on from
 * the next tick and emits a tick that was started but not finished again (at least once: a
 * duplicate, never a loss), and the oracle learns from the journal which ticks fired. With several
 * instances one at a time runs the sources, chosen by a file lease.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LandscapeModel } from '../model/landscape-model.ts';
import { FileLease } from '../process/lease.ts';

/** How long a lease outlives its holder; a dead instance's sources move to another after this. */
export const SOURCE_LEASE_TTL_MS = 3_000;

export interface SourceProgress {
  /** The source's index in the system's sources. */
  source: number;
  kind: string;
  /** Ticks started (1..ticks): every one of them is expected downstream. */
  ticks: number;
  /** Ticks whose records were all emitted. */
  done: number;
}

/** The journal file of a system's sources, in its shared state folder. */
export function sourcesJournal(workDir: string, systemId: string): string {
  return join(workDir, 'state', systemId, 'sources.journal');
}

/** Reads a sources journal: per source, the last tick started and the last tick done. */
export function readSourcesJournal(file: string): Map<number, { started: number; done: number }> {
  const out = new Map<number, { started: number; done: number }>();
  if (!existsSync(file)) return out;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [what, source, tick] = line.split('\t');
    const i = Number(source);
    const t = Number(tick);
    if ((what !== 'started' && what !== 'done') || !Number.isInteger(i) || !Number.isInteger(t)) continue;
    const e = out.get(i) ?? { started: 0, done: 0 };
    if (what === 'started') e.started = Math.max(e.started, t);
    else e.done = Math.max(e.done, t);
    out.set(i, e);
  }
  return out;
}

export interface SourceRunnerOptions {
  model: LandscapeModel;
  systemId: string;
  workDir: string;
  /** This process's name (the lease owner). */
  owner: string;
  seed: number;
  /** Emits one record through the wiring; rejects when it could not be handed over. */
  emit(kind: string, record: Record<string, unknown>): Promise<void>;
  logger: (line: string) => void;
}

export class SourceRunner {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly lease: FileLease;
  private leaseTimer: NodeJS.Timeout | null = null;
  private readonly journal: string;
  private readonly busy = new Set<number>();
  private stopped = false;

  constructor(private readonly o: SourceRunnerOptions) {
    this.journal = sourcesJournal(o.workDir, o.systemId);
    mkdirSync(dirname(this.journal), { recursive: true });
    this.lease = new FileLease({ file: join(dirname(this.journal), 'sources.lease'), owner: o.owner, ttlMs: SOURCE_LEASE_TTL_MS });
  }

  get sources(): ReturnType<LandscapeModel['sourcesOf']> {
    return this.o.model.sourcesOf(this.o.systemId);
  }

  start(): void {
    if (this.sources.length === 0) return;
    this.lease.tick();
    this.leaseTimer = setInterval(() => this.lease.tick(), Math.floor(SOURCE_LEASE_TTL_MS / 3));
    this.leaseTimer.unref();
    this.sources.forEach((src, i) => {
      const timer = setInterval(() => void this.fire(i), src.everyMs);
      timer.unref();
      this.timers.push(timer);
    });
  }

  private append(line: string): void {
    const fd = openSync(this.journal, 'a');
    try {
      writeSync(fd, line);
    } finally {
      closeSync(fd);
    }
  }

  /** One tick of source `i`, if this instance holds the lease: an unfinished tick first, else the next. */
  private async fire(i: number): Promise<void> {
    if (this.stopped || this.busy.has(i) || !this.lease.held) return;
    const src = this.sources[i];
    const state = readSourcesJournal(this.journal).get(i) ?? { started: 0, done: 0 };
    const tick = state.done < state.started ? state.started : state.started + 1;
    if (src.times !== undefined && tick > src.times) return;
    this.busy.add(i);
    try {
      if (tick > state.started) this.append(`started\t${i}\t${tick}\n`);
      for (const r of this.o.model.sourceRecords(this.o.systemId, i, tick, this.o.seed)) await this.o.emit(r.kind, r.record);
      this.append(`done\t${i}\t${tick}\n`);
    } catch (err) {
      // The tick stays started but not done: the next timer emits it again.
      this.o.logger(`source ${src.kind} tick ${tick}: ${(err as Error).message}; retrying at the next tick`);
    } finally {
      this.busy.delete(i);
    }
  }

  progress(): SourceProgress[] {
    const state = readSourcesJournal(this.journal);
    return this.sources.map((src, i) => ({ source: i, kind: src.kind, ticks: state.get(i)?.started ?? 0, done: state.get(i)?.done ?? 0 }));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    this.lease.release();
  }
}
