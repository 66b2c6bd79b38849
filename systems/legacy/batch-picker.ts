/**
 * The batch legacy transport, receiving side: every scheduleMs scan `<inbox>/<flowId>/`, process each
 * complete file (hidden .tmp files are still being written) in name order, send corrupt lines to
 * `<inbox>/quarantine/<flowId>.jsonl`, then move the file to `<inbox>/<flowId>/done/` (or delete it).
 * Exactly-once-ish by file: the file name is appended (fsynced) to a journal before the move, so a
 * picker that crashes between processing and moving finishes the move on restart without handing
 * the records over again. A crash during processing (before the journal) reprocesses the file.
 *
 * Several instances of a system pick from one inbox: each is given its instance name as `owner`
 * and takes a file by renaming it into `<inbox>/<flowId>/.claims/<owner>/` before reading it (a
 * rename succeeds once, so no file is taken twice), one file at a time so the others share the
 * rest. Its journal lives in that folder. An owner keeps a heartbeat file there; when the
 * heartbeat is older than claimTtlMs (the instance died), another picker takes the dead owner's
 * claimed files over by renaming them into its own folder, only moving on those the dead owner
 * had journalled already. A picker without an owner is alone and works on the files in place.
 */
import type { Dirent } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DataFormat, DataKindId } from '../topology/model.ts';
import { FILE_EXTENSIONS, decodeAndValidate, errorText } from './common.ts';
import type { BadRecord, RecordCodec, RecordValidator } from './common.ts';
import { appendDurably, syncDir } from './fs-atomic.ts';
import { BATCH_PICKER } from '../runtime/tuning.ts';

export interface BatchFileInfo {
  readonly name: string;
  readonly path: string;
}

export interface BatchPickerOptions<R = unknown> {
  readonly inbox: string;
  readonly flowId: string;
  readonly kind: DataKindId;
  readonly format: DataFormat;
  readonly scheduleMs: number;
  /** Larger files are moved to `<inbox>/quarantine/<flowId>/` unread. Default 16 MiB. */
  readonly fileBytesMax?: number;
  /** Files handled per scan at most. Default BATCH_PICKER.filesPerScanMax. */
  readonly filesPerScanMax?: number;
  /** After processing: move to done/ (default) or delete. */
  readonly afterProcessing?: 'move' | 'delete';
  readonly validate?: RecordValidator;
  /** Throwing leaves the file in place; it (and the files after it) are retried next scan. */
  readonly onRecords: (records: R[], file: BatchFileInfo) => Promise<void> | void;
  /** Encodes and decodes the records: codecFor(the landscape's RecordKinds). */
  readonly codec: RecordCodec;
  /** Test seam: runs after the journal entry is durable and before the file is moved. */
  readonly afterJournal?: (file: BatchFileInfo) => Promise<void> | void;
  /**
   * Several instances pick from this inbox: this one's name (e.g. `E.2`). Files are claimed into
   * `.claims/<owner>/` before they are read. Absent: the picker is alone and works in place.
   */
  readonly owner?: string;
  /** With an owner: another owner whose heartbeat is older than this is dead and its claims are taken over. Default max(10 s, 5 × scheduleMs). */
  readonly claimTtlMs?: number;
}

export interface BatchPickerCounters {
  scans: number;
  files: number;
  records: number;
  quarantinedLines: number;
  /** Files quarantined whole for exceeding fileBytesMax. */
  quarantinedFiles: number;
  /** Files found in the journal (processed before a crash) and only moved this time. */
  skippedAlreadyProcessed: number;
  handlerFailures: number;
  scanFailures: number;
  /** With an owner: files another instance claimed first. */
  claimsLost: number;
  /** With an owner: files taken over from the claims of a dead instance. */
  takenOver: number;
  lastError: string | undefined;
}

const JOURNAL = '.processed.journal';
const JOURNAL_COMPACT_AT = 1000;
/** The folder of the owners' claim folders, inside the flow's inbox folder (hidden: never a batch file). */
export const CLAIMS_DIR = '.claims';
/** An owner's heartbeat file in its claim folder; its mtime is the heartbeat. */
const HEARTBEAT = '.alive';
/** Claim folders looked at per scan at most (instances of one system: 16). */
const CLAIM_OWNERS_MAX = 64;
const OWNER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export class BatchPicker<R = unknown> {
  private readonly dir: string;
  /** Where this picker's files are while it works on them: the flow's folder, or its claim folder. */
  private readonly home: string;
  private readonly claimTtlMs: number;
  private journal: Set<string> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private scanning: Promise<number> | undefined;
  private readonly c: BatchPickerCounters = {
    scans: 0, files: 0, records: 0, quarantinedLines: 0, quarantinedFiles: 0, skippedAlreadyProcessed: 0, handlerFailures: 0, scanFailures: 0, claimsLost: 0, takenOver: 0, lastError: undefined,
  };

  constructor(readonly options: BatchPickerOptions<R>) {
    this.dir = path.join(options.inbox, options.flowId);
    if (options.owner !== undefined && !OWNER_PATTERN.test(options.owner)) throw new RangeError(`a batch picker owner is [A-Za-z0-9._-], got ${JSON.stringify(options.owner)}`);
    this.home = options.owner === undefined ? this.dir : path.join(this.dir, CLAIMS_DIR, options.owner);
    this.claimTtlMs = options.claimTtlMs ?? Math.max(10_000, 5 * options.scheduleMs);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.scanOnce().catch((e) => { this.c.scanFailures++; this.c.lastError = errorText(e); });
    }, this.options.scheduleMs);
    if (this.options.owner !== undefined) {
      // Between scans too: a long file must not make this instance look dead to the others.
      this.heartbeatTimer = setInterval(() => { this.heartbeat().catch(() => undefined); }, Math.max(1, Math.floor(this.claimTtlMs / 4)));
      this.heartbeatTimer.unref();
    }
  }

  /** Stops the schedule and waits for a scan in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    await this.scanning?.catch(() => undefined);
  }

  /** One scan; returns the number of files finished. Scans never overlap. */
  scanOnce(): Promise<number> {
    this.scanning ??= this.scan().finally(() => { this.scanning = undefined; });
    return this.scanning;
  }

  counters(): BatchPickerCounters {
    return { ...this.c };
  }

  private async scan(): Promise<number> {
    this.c.scans++;
    await mkdir(this.home, { recursive: true });
    const claiming = this.options.owner !== undefined;
    if (claiming) {
      await this.heartbeat();
      await this.takeOverDeadClaims();
    }
    const max = this.options.filesPerScanMax ?? BATCH_PICKER.filesPerScanMax;
    // Files already ours: in place when alone; else claimed earlier (a crash, a failed handler, a takeover).
    const mine = await this.completeFiles(this.home);
    const journal = await this.loadJournal(mine);
    let finished = 0;
    for (const name of mine) {
      if (finished >= max) return finished;
      if (!(await this.finish(name, journal))) return finished; // keep name order: later files wait for this one
      finished++;
    }
    if (!claiming) return finished;
    // New files: claim one and finish it, then the next, so the other instances share the rest.
    for (const name of await this.completeFiles(this.dir)) {
      if (finished >= max) break;
      if (!(await this.claim(name))) {
        this.c.claimsLost++;
        continue;
      }
      if (!(await this.finish(name, journal))) break; // it stays claimed and goes first next scan
      finished++;
    }
    return finished;
  }

  /** Hands over (unless the journal has it), journals and retires one file of ours. False: the handler failed. */
  private async finish(name: string, journal: Set<string>): Promise<boolean> {
    const file: BatchFileInfo = { name, path: path.join(this.home, name) };
    if (journal.has(name)) {
      this.c.skippedAlreadyProcessed++;
      await this.retire(file);
      return true;
    }
    if (!(await this.process(file))) return false;
    await appendDurably(path.join(this.home, JOURNAL), `${name}\n`);
    journal.add(name);
    await this.options.afterJournal?.(file);
    await this.retire(file);
    this.c.files++;
    return true;
  }

  /** Takes a new file by renaming it into our claim folder; false when another instance was first. */
  private async claim(name: string): Promise<boolean> {
    try {
      await rename(path.join(this.dir, name), path.join(this.home, name));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  private async heartbeat(): Promise<void> {
    await mkdir(this.home, { recursive: true });
    await writeFile(path.join(this.home, HEARTBEAT), `${Date.now()}\n`);
  }

  /**
   * Claimed files of owners whose heartbeat is older than claimTtlMs move into our claim folder;
   * those their journal lists were handed over already and are only retired. A rename moves a file
   * once, so two pickers taking over the same dead owner never both get one file.
   */
  private async takeOverDeadClaims(): Promise<void> {
    const claims = path.join(this.dir, CLAIMS_DIR);
    const others = (await listDir(claims)).filter((e) => e.isDirectory() && e.name !== this.options.owner).slice(0, CLAIM_OWNERS_MAX);
    for (const other of others) {
      const otherHome = path.join(claims, other.name);
      const files = await this.completeFiles(otherHome);
      if (files.length === 0 || !(await this.isDead(otherHome))) continue;
      const done = await readJournal(path.join(otherHome, JOURNAL));
      for (const name of files) {
        const from = path.join(otherHome, name);
        if (done.has(name)) {
          this.c.skippedAlreadyProcessed++;
          await this.retire({ name, path: from });
          continue;
        }
        try {
          await rename(from, path.join(this.home, name));
          this.c.takenOver++;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        }
      }
    }
  }

  /** An owner is dead when its heartbeat (or, lacking one, its claim folder) is older than claimTtlMs. */
  private async isDead(ownerHome: string): Promise<boolean> {
    let beatAtMs: number;
    try {
      beatAtMs = (await stat(path.join(ownerHome, HEARTBEAT))).mtimeMs;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      try {
        beatAtMs = (await stat(ownerHome)).mtimeMs;
      } catch {
        return false; // gone meanwhile: nothing to take
      }
    }
    return Date.now() - beatAtMs > this.claimTtlMs;
  }

  /** Hands the file's good records over and quarantines its bad lines. False: handler failed. */
  private async process(file: BatchFileInfo): Promise<boolean> {
    const size = (await stat(file.path)).size;
    const bytesMax = this.options.fileBytesMax ?? 16 * 1024 * 1024;
    if (size > bytesMax) {
      await this.quarantine(file, [{ line: 0, raw: '', reason: `file of ${size} bytes exceeds ${bytesMax}; moved to quarantine/${this.options.flowId}/` }]);
      await mkdir(path.join(this.options.inbox, 'quarantine', this.options.flowId), { recursive: true });
      await rename(file.path, path.join(this.options.inbox, 'quarantine', this.options.flowId, file.name));
      this.c.quarantinedFiles++;
      return true; // nothing else to do for it; retire() will find it gone
    }
    const decoded = decodeAndValidate<R>(this.options.codec, this.options.kind, this.options.format, await readFile(file.path), this.options.validate);
    if (decoded.records.length > 0) {
      try {
        await this.options.onRecords(decoded.records, file);
      } catch (e) {
        this.c.handlerFailures++;
        this.c.lastError = `${file.name}: ${errorText(e)}`;
        return false;
      }
    }
    this.c.records += decoded.records.length;
    if (decoded.bad.length > 0) await this.quarantine(file, decoded.bad);
    return true;
  }

  private async quarantine(file: BatchFileInfo, bad: readonly BadRecord[]): Promise<void> {
    const at = new Date().toISOString();
    const lines = bad.map((b) => JSON.stringify({ at, flowId: this.options.flowId, file: file.name, line: b.line, raw: b.raw, reason: b.reason })).join('\n');
    await appendDurably(path.join(this.options.inbox, 'quarantine', `${this.options.flowId}.jsonl`), `${lines}\n`);
    this.c.quarantinedLines += bad.filter((b) => b.line > 0 || b.raw !== '').length;
  }

  /** Moves a processed file (from wherever it is) to done/ (or deletes it); a file already gone is fine. */
  private async retire(file: BatchFileInfo): Promise<void> {
    try {
      if (this.options.afterProcessing === 'delete') {
        await rm(file.path);
      } else {
        await mkdir(path.join(this.dir, 'done'), { recursive: true });
        await rename(file.path, path.join(this.dir, 'done', file.name));
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    await syncDir(path.dirname(file.path));
  }

  /** Complete files of this flow's format in `dir` (none when it does not exist), in name order. */
  private async completeFiles(dir: string): Promise<string[]> {
    const ext = `.${FILE_EXTENSIONS[this.options.format]}`;
    const entries = await listDir(dir);
    return entries.filter((e) => e.isFile() && !e.name.startsWith('.') && e.name.endsWith(ext)).map((e) => e.name).sort();
  }

  /** Reads our journal once; compacts it to the names still with us when it grows large. */
  private async loadJournal(present: readonly string[]): Promise<Set<string>> {
    this.journal ??= await readJournal(path.join(this.home, JOURNAL));
    if (this.journal.size > JOURNAL_COMPACT_AT) {
      const keep = new Set(present.filter((n) => this.journal!.has(n)));
      const tmp = path.join(this.home, `${JOURNAL}.tmp`);
      await writeFile(tmp, [...keep].map((n) => `${n}\n`).join(''));
      await rename(tmp, path.join(this.home, JOURNAL));
      this.journal = keep;
    }
    return this.journal;
  }
}

/** The names a journal lists (empty when there is none). */
async function readJournal(file: string): Promise<Set<string>> {
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return new Set(text.split('\n').filter((l) => l.length > 0));
}

/** A folder's entries; none when it does not exist (a claim folder another picker just emptied). */
async function listDir(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}
