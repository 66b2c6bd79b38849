/**
 * The batch legacy transport, receiving side: every scheduleMs scan `<inbox>/<flowId>/`, process each
 * complete file (hidden .tmp files are still being written) in name order, send corrupt lines to
 * `<inbox>/quarantine/<flowId>.jsonl`, then move the file to `<inbox>/<flowId>/done/` (or delete it).
 * Exactly-once-ish by file: the file name is appended (fsynced) to a journal before the move, so a
 * picker that crashes between processing and moving finishes the move on restart without handing
 * the records over again. A crash during processing (before the journal) reprocesses the file.
 */
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DataFormat, DataKindId } from '../topology/model.ts';
import { FILE_EXTENSIONS, decodeAndValidate, defaultCodec, errorText } from './common.ts';
import type { BadRecord, RecordCodec, RecordValidator } from './common.ts';
import { appendDurably, syncDir } from './fs-atomic.ts';

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
  /** Files handled per scan at most. Default 100. */
  readonly filesPerScanMax?: number;
  /** After processing: move to done/ (default) or delete. */
  readonly afterProcessing?: 'move' | 'delete';
  readonly validate?: RecordValidator;
  /** Throwing leaves the file in place; it (and the files after it) are retried next scan. */
  readonly onRecords: (records: R[], file: BatchFileInfo) => Promise<void> | void;
  readonly codec?: RecordCodec;
  /** Test seam: runs after the journal entry is durable and before the file is moved. */
  readonly afterJournal?: (file: BatchFileInfo) => Promise<void> | void;
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
  lastError: string | undefined;
}

const JOURNAL = '.processed.journal';
const JOURNAL_COMPACT_AT = 1000;

export class BatchPicker<R = unknown> {
  private readonly dir: string;
  private journal: Set<string> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<number> | undefined;
  private readonly c: BatchPickerCounters = {
    scans: 0, files: 0, records: 0, quarantinedLines: 0, quarantinedFiles: 0, skippedAlreadyProcessed: 0, handlerFailures: 0, scanFailures: 0, lastError: undefined,
  };

  constructor(readonly options: BatchPickerOptions<R>) {
    this.dir = path.join(options.inbox, options.flowId);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.scanOnce().catch((e) => { this.c.scanFailures++; this.c.lastError = errorText(e); });
    }, this.options.scheduleMs);
  }

  /** Stops the schedule and waits for a scan in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
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
    await mkdir(this.dir, { recursive: true });
    const names = await this.completeFiles();
    const journal = await this.loadJournal(names);
    let finished = 0;
    for (const name of names.slice(0, this.options.filesPerScanMax ?? 100)) {
      const file: BatchFileInfo = { name, path: path.join(this.dir, name) };
      if (journal.has(name)) {
        this.c.skippedAlreadyProcessed++;
        await this.retire(file);
        finished++;
        continue;
      }
      if (!(await this.process(file))) break; // keep name order: later files wait for this one
      await appendDurably(path.join(this.dir, JOURNAL), `${name}\n`);
      journal.add(name);
      await this.options.afterJournal?.(file);
      await this.retire(file);
      this.c.files++;
      finished++;
    }
    return finished;
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
    const decoded = decodeAndValidate<R>(this.options.codec ?? defaultCodec, this.options.kind, this.options.format, await readFile(file.path), this.options.validate);
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

  /** Moves a processed file to done/ (or deletes it); a file already gone is fine. */
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
    await syncDir(this.dir);
  }

  /** Complete files of this flow's format, in name order. */
  private async completeFiles(): Promise<string[]> {
    const ext = `.${FILE_EXTENSIONS[this.options.format]}`;
    const entries = await readdir(this.dir, { withFileTypes: true });
    return entries.filter((e) => e.isFile() && !e.name.startsWith('.') && e.name.endsWith(ext)).map((e) => e.name).sort();
  }

  /** Reads the journal once; compacts it to the names still in the inbox when it grows large. */
  private async loadJournal(present: readonly string[]): Promise<Set<string>> {
    if (!this.journal) {
      let text = '';
      try {
        text = await readFile(path.join(this.dir, JOURNAL), 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      this.journal = new Set(text.split('\n').filter((l) => l.length > 0));
    }
    if (this.journal.size > JOURNAL_COMPACT_AT) {
      const keep = new Set(present.filter((n) => this.journal!.has(n)));
      const tmp = path.join(this.dir, `${JOURNAL}.tmp`);
      await writeFile(tmp, [...keep].map((n) => `${n}\n`).join(''));
      await rename(tmp, path.join(this.dir, JOURNAL));
      this.journal = keep;
    }
    return this.journal;
  }
}
