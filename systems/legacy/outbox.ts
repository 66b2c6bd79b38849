/**
 * The durable outbox of the legacy layout's `outbox=durable` practice: what a system has produced
 * but hands over later on a schedule (its lake export, its batch drops, its rest-poll feed) is
 * appended to a file in the instance's state folder before the record counts as handed over, and
 * a handover of a range of it is written down before it starts and when it is done, so a kill -9
 * at any point loses nothing and a redo after the restart repeats exactly the same range.
 *
 * One file per outbox, `<dir>/<name>.outbox`, JSON lines:
 *   {"outbox":1,"name":N,"epoch":E,"done":D,"last":L}  header: first line, written at creation and compaction;
 *                                                       the record lines after it continue from L
 *   {"s":7,"k":"<identity>","r":{...}}                 a record: sequence numbers 1, 2, 3... without gaps
 *   {"k":"<identity>"}                                  the identity of a record handed over (kept by compaction, for dedupe)
 *   {"begin":[from,to,atMs],"name":"..."}               the handover of records from..to starts (before any effect),
 *                                                       writing what `name` names (a lake file, a batch file)
 *   {"staged":to}                                       its output is complete in a staging file (batch drops)
 *   {"done":to}                                         records up to `to` are handed over
 * The epoch is chosen when the file is created and never changes: with the sequence numbers it names
 * what a handover wrote (lake files, feed cursors), so names stay the same across restarts.
 *
 * Dedupe: a record whose identity (idOf) is among the last dedupeIdsMax identities appended is not
 * appended again (a redelivered input re-emits the same outputs); the window is rebuilt from the file.
 *
 * fsync: appends are plain write()s, not fsynced. A kill -9 keeps everything write() returned for
 * (it is in the page cache, the kernel writes it out); only an OS crash or power loss can take the
 * last moments. Compaction fsyncs its new file and the folder before it replaces the old one.
 *
 * Bounds: in memory, the records not yet handed over (their producer bounds how many) and the dedupe
 * window. On disk, the file is compacted (rewritten with only the header, the window's identities,
 * the records not handed over and a handover under way) once it is at least compactBytesMin and
 * twice that live part: it stays below max(compactBytesMin, 2 x live part) plus one append.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { syncDirSync, writeFullySync } from './fs-atomic.ts';

/** Identities remembered per outbox for dedupe (a window over the last ones appended). */
export const OUTBOX_DEDUPE_IDS_MAX = 50_000;
/** An outbox file smaller than this is never compacted. */
export const OUTBOX_COMPACT_BYTES_MIN = 1024 * 1024;
export const OUTBOX_SUFFIX = '.outbox';
const SUFFIX = OUTBOX_SUFFIX;
const COMPACT_SUFFIX = '.compact.tmp';
/** What an outbox may be called (its file is `<name>.outbox`). */
export const OUTBOX_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,150}$/;
const NAME_PATTERN = OUTBOX_NAME_PATTERN;
/** The header's size, about (it is counted in the live part of the file). */
const HEADER_BYTES = 200;

export interface OutboxEntry<R> {
  readonly seq: number;
  readonly record: R;
}

/** A handover of the records from..to (sequence numbers, inclusive), begun at atMs. */
export interface Handover {
  readonly from: number;
  readonly to: number;
  readonly atMs: number;
  /** What it writes (chosen at begin, so a redo after a kill writes the same thing). */
  readonly name: string;
  /** Its output is complete in a staging file (only batch drops stage). */
  readonly staged: boolean;
}

export interface OutboxOptions<R> {
  /** A record's identity: a record whose identity is in the window is not appended again. Absent: no dedupe. */
  readonly idOf?: (record: R) => string;
  /** Default OUTBOX_DEDUPE_IDS_MAX. */
  readonly dedupeIdsMax?: number;
  /** Default OUTBOX_COMPACT_BYTES_MIN. */
  readonly compactBytesMin?: number;
}

export interface OutboxCounters {
  /** Records not yet handed over. */
  depth: number;
  /** Size of the outbox file. */
  bytes: number;
  lastSeq: number;
  doneSeq: number;
  /** Records appended by this process. */
  appended: number;
  /** Records not appended because their identity was appended before. */
  duplicates: number;
  compactions: number;
  /** A handover begun and not done (after a kill: redone first). */
  handover: Handover | null;
}

interface Pending<R> extends OutboxEntry<R> {
  readonly id: string | undefined;
  /** Its line's size in the file. */
  readonly bytes: number;
}

type Line = { s?: unknown; k?: unknown; r?: unknown; begin?: unknown; name?: unknown; staged?: unknown; done?: unknown };

/** One outbox file (see the file comment). Synchronous: every method returns once the file says it. */
export class Outbox<R = unknown> {
  readonly epoch: string;
  private fd: number;
  private bytes = 0;
  private last = 0;
  private done = 0;
  /** Records after `done`, from index `head`. */
  private pendingList: Pending<R>[] = [];
  private head = 0;
  private pendingBytes = 0;
  /** Identity -> sequence number (0: known from an identity line), oldest first. */
  private readonly ids = new Map<string, number>();
  private idBytes = 0;
  private current: Handover | null = null;
  private closed = false;
  /** The end of the last piece of work queued by exclusive(). */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly dedupeIdsMax: number;
  private readonly compactBytesMin: number;
  private readonly c = { appended: 0, duplicates: 0, compactions: 0 };

  /** Opens (or creates) `<dir>/<name>.outbox` and rebuilds its state; a torn last line (a kill mid-write) is cut off. */
  constructor(readonly dir: string, readonly name: string, private readonly opts: OutboxOptions<R> = {}) {
    if (!NAME_PATTERN.test(name)) throw new RangeError(`an outbox name is [A-Za-z0-9._-], got ${JSON.stringify(name)}`);
    this.dedupeIdsMax = opts.dedupeIdsMax ?? OUTBOX_DEDUPE_IDS_MAX;
    this.compactBytesMin = opts.compactBytesMin ?? OUTBOX_COMPACT_BYTES_MIN;
    mkdirSync(dir, { recursive: true });
    rmSync(this.file + COMPACT_SUFFIX, { force: true }); // a compaction a kill interrupted: the old file still holds everything
    const epoch = this.load();
    if (epoch === null) {
      this.epoch = randomBytes(4).toString('hex');
      const header = Buffer.from(this.headerLine());
      const fd = openSync(this.file, 'w');
      try { writeFullySync(fd, header); } finally { closeSync(fd); }
      this.bytes = header.length;
    } else {
      this.epoch = epoch;
    }
    this.fd = openSync(this.file, 'a');
    this.maybeCompact();
  }

  get file(): string {
    return path.join(this.dir, `${this.name}${SUFFIX}`);
  }

  /** Records not yet handed over. */
  get depth(): number {
    return this.pendingList.length - this.head;
  }

  /** Sequence number of the newest record (0: none ever). */
  get lastSeq(): number { return this.last; }

  /** Every record up to this sequence number is handed over. */
  get doneSeq(): number { return this.done; }

  /**
   * Appends records (one write for all), skipping those whose identity is in the dedupe window;
   * returns the entries appended. Once it returns, a kill -9 loses none of them.
   */
  append(records: readonly R[]): OutboxEntry<R>[] {
    this.checkOpen();
    const added: Pending<R>[] = [];
    const fresh = new Set<string>();
    let text = '';
    for (const record of records) {
      const id = this.opts.idOf?.(record);
      if (id !== undefined && (this.ids.has(id) || fresh.has(id))) {
        this.c.duplicates++;
        continue;
      }
      if (id !== undefined) fresh.add(id);
      const seq = this.last + added.length + 1;
      const line = entryLine(seq, id, record);
      text += line;
      added.push({ seq, record, id, bytes: Buffer.byteLength(line) });
    }
    if (added.length === 0) return [];
    this.write(text);
    for (const e of added) {
      this.pendingList.push(e);
      this.pendingBytes += e.bytes;
      if (e.id !== undefined) this.remember(e.id, e.seq);
    }
    this.last += added.length;
    this.c.appended += added.length;
    return added;
  }

  /** The first `limit` records not yet handed over, oldest first. */
  pending(limit = Number.POSITIVE_INFINITY): OutboxEntry<R>[] {
    return this.pendingList.slice(this.head, this.head + Math.min(limit, this.depth));
  }

  /** The records from..to, all of them not yet handed over. */
  range(from: number, to: number): OutboxEntry<R>[] {
    if (from !== this.done + 1 || to < from || to > this.last) throw new RangeError(`outbox ${this.name}: no records ${from}..${to} waiting (waiting: ${this.done + 1}..${this.last})`);
    return this.pendingList.slice(this.head, this.head + (to - from + 1));
  }

  /** The handover begun and not done, if any: after a restart it is to be redone exactly. */
  handover(): Handover | null {
    return this.current;
  }

  /**
   * Writes down that the records from..to (the next ones in order) are being handed over as `name`,
   * before anything is written elsewhere.
   */
  begin(from: number, to: number, atMs: number, name: string): Handover {
    this.checkOpen();
    if (this.current) throw new Error(`outbox ${this.name}: handover ${this.current.from}..${this.current.to} is still under way`);
    this.range(from, to);
    if (!Number.isSafeInteger(atMs)) throw new RangeError(`not a time: ${atMs}`);
    this.current = { from, to, atMs, name, staged: false };
    this.write(beginLine(this.current));
    return this.current;
  }

  /**
   * Runs `work` after the work queued before it is done: handovers of one outbox never overlap, even
   * when two writers share it (a flow rebuilt while its predecessor still flushes).
   */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Writes down that the handover's output is complete in its staging file. */
  staged(): Handover {
    this.checkOpen();
    if (!this.current) throw new Error(`outbox ${this.name}: no handover under way`);
    this.write(`${JSON.stringify({ staged: this.current.to })}\n`);
    this.current = { ...this.current, staged: true };
    return this.current;
  }

  /** Writes down that every record up to `to` is handed over (or given up), releases them, and compacts when due. */
  markDone(to: number): void {
    this.checkOpen();
    if (to <= this.done) return;
    if (to > this.last) throw new RangeError(`outbox ${this.name}: record ${to} was never appended (last ${this.last})`);
    this.write(`${JSON.stringify({ done: to })}\n`);
    this.release(to);
    this.maybeCompact();
  }

  counters(): OutboxCounters {
    return { depth: this.depth, bytes: this.bytes, lastSeq: this.last, doneSeq: this.done, ...this.c, handover: this.current };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }

  /** Reads the file into memory; null when there is none yet (or only a torn header). */
  private load(): string | null {
    let data: Buffer;
    try {
      data = readFileSync(this.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    const end = data.lastIndexOf(0x0a) + 1;
    if (end < data.length) truncateSync(this.file, end);
    const lines = data.subarray(0, end).toString('utf8').split('\n');
    lines.pop();
    if (lines.length === 0) return null;
    const where = (i: number): string => `${this.file} line ${i + 1}`;
    const parse = (i: number): Line => {
      try {
        return JSON.parse(lines[i]) as Line;
      } catch {
        throw new Error(`${where(i)}: not JSON: the outbox is damaged (move it away to start empty)`);
      }
    };
    const header = parse(0) as { outbox?: unknown; epoch?: unknown; done?: unknown; last?: unknown };
    if (header.outbox !== 1 || typeof header.epoch !== 'string' || !isSeq(header.done) || !isSeq(header.last)) throw new Error(`${where(0)}: not an outbox header`);
    this.done = header.done;
    this.last = header.last;
    let begun: Omit<Handover, 'staged'> | null = null;
    let stagedTo = 0;
    for (let i = 1; i < lines.length; i++) {
      const v = parse(i);
      if (v.s !== undefined) {
        if (v.s !== this.last + 1) throw new Error(`${where(i)}: record ${String(v.s)} after ${this.last}`);
        const id = typeof v.k === 'string' ? v.k : undefined;
        this.last = v.s;
        this.pendingList.push({ seq: v.s, record: v.r as R, id, bytes: Buffer.byteLength(lines[i]) + 1 });
        this.pendingBytes += Buffer.byteLength(lines[i]) + 1;
        if (id !== undefined) this.remember(id, v.s);
      } else if (typeof v.k === 'string') {
        this.remember(v.k, 0);
      } else if (Array.isArray(v.begin) && v.begin.length === 3 && v.begin.every(isSeq) && typeof v.name === 'string') {
        begun = { from: v.begin[0] as number, to: v.begin[1] as number, atMs: v.begin[2] as number, name: v.name };
        stagedTo = 0;
      } else if (isSeq(v.staged)) {
        stagedTo = v.staged;
      } else if (isSeq(v.done)) {
        this.done = Math.max(this.done, v.done);
      } else {
        throw new Error(`${where(i)}: not an outbox line`);
      }
    }
    this.release(this.done);
    if (begun && begun.to > this.done) this.current = { ...begun, staged: stagedTo >= begun.to };
    this.bytes = end;
    return header.epoch;
  }

  private release(to: number): void {
    while (this.head < this.pendingList.length && this.pendingList[this.head].seq <= to) {
      this.pendingBytes -= this.pendingList[this.head].bytes;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.pendingList.length) {
      this.pendingList = this.pendingList.slice(this.head);
      this.head = 0;
    }
    this.done = Math.max(this.done, to);
    if (this.current && this.current.to <= this.done) this.current = null;
  }

  private remember(id: string, seq: number): void {
    if (this.ids.has(id)) return;
    this.ids.set(id, seq);
    this.idBytes += idLine(id).length;
    while (this.ids.size > this.dedupeIdsMax) {
      const oldest = this.ids.keys().next().value as string;
      this.ids.delete(oldest);
      this.idBytes -= idLine(oldest).length;
    }
  }

  private maybeCompact(): void {
    const live = HEADER_BYTES + this.pendingBytes + this.idBytes;
    if (this.bytes >= this.compactBytesMin && this.bytes >= 2 * live) this.compact();
  }

  /** Rewrites the file with only what is still needed, then puts it in place of the old one. */
  private compact(): void {
    const parts = [this.headerLine()];
    for (const [id, seq] of this.ids) if (seq <= this.done) parts.push(idLine(id));
    for (const e of this.pending()) parts.push(entryLine(e.seq, (e as Pending<R>).id, e.record));
    if (this.current) {
      parts.push(beginLine(this.current));
      if (this.current.staged) parts.push(`${JSON.stringify({ staged: this.current.to })}\n`);
    }
    const data = Buffer.from(parts.join(''));
    const tmp = this.file + COMPACT_SUFFIX;
    const fd = openSync(tmp, 'w');
    try {
      writeFullySync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    syncDirSync(this.dir);
    closeSync(this.fd);
    this.fd = openSync(this.file, 'a');
    this.bytes = data.length;
    this.c.compactions++;
  }

  private headerLine(): string {
    // `last`: the sequence number the file's record lines continue from (the records not handed over follow it).
    return `${JSON.stringify({ outbox: 1, name: this.name, epoch: this.epoch, done: this.done, last: this.last - this.depth })}\n`;
  }

  /** Appends `text`; a failed write is cut off again, so the file never keeps half a line in its middle. */
  private write(text: string): void {
    const data = Buffer.from(text);
    try {
      writeFullySync(this.fd, data);
    } catch (e) {
      try { ftruncateSync(this.fd, this.bytes); } catch { /* the next open cuts a torn tail anyway */ }
      throw e;
    }
    this.bytes += data.length;
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`outbox ${this.name} is closed`);
  }
}

function isSeq(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function entryLine(seq: number, id: string | undefined, record: unknown): string {
  return `${JSON.stringify(id === undefined ? { s: seq, r: record } : { s: seq, k: id, r: record })}\n`;
}

function beginLine(h: Handover): string {
  return `${JSON.stringify({ begin: [h.from, h.to, h.atMs], name: h.name })}\n`;
}

function idLine(id: string): string {
  return `${JSON.stringify({ k: id })}\n`;
}
