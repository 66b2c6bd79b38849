/**
 * A legacy system's own scheduled batch export to the data lake (see LakeExporter). Its CPU counts
 * as `lakeExport` (systems/process/cpu-meter.ts): an export (collecting the records, writing the
 * file synchronously, the outbox bookkeeping) and, with outbox=durable, appending each record to
 * its outbox; the encoding inside an export counts apart as `serialization`. Buffering a record
 * in memory is a push, cheaper than measuring it, and is left to the remainder.
 */
import { writeLegacyExport } from '../lake/index.ts';
import { measureCpu } from '../process/cpu-meter.ts';
import type { Outbox } from '../legacy/outbox.ts';
import type { OutboxStore } from '../legacy/outbox-store.ts';
import type { RecordKinds } from '../model/kinds.ts';
import type { LakeExport } from '../topology/index.ts';
import { LAKE_EXPORT } from './tuning.ts';

/** Records held for the next export; reaching it triggers an export before the schedule (LAKE_EXPORT in tuning.ts). */
export const EXPORT_BUFFER_RECORDS_MAX = LAKE_EXPORT.bufferRecordsMax;
/**
 * outbox=durable: records the outboxes hold at most while the lake does not take them (every
 * export fails); add() then throws, so the sender of the input sees the failure and keeps it.
 */
export const EXPORT_OUTBOX_RECORDS_MAX = 10 * EXPORT_BUFFER_RECORDS_MAX;
/** outbox=durable: records per lake file at most (one export writes several when more wait). */
const EXPORT_FILE_RECORDS_MAX = EXPORT_BUFFER_RECORDS_MAX;
const SEQ_DIGITS = 12;

/** outbox=durable: where the exporter keeps what it has not exported yet. */
export interface DurableExport {
  /** The instance's outboxes; the exporter keeps one per kind, `lake-<kind>`. */
  readonly outboxes: OutboxStore;
  /** The instance's name (`B`, `B.2`): part of every file name, so instances never write the same file. */
  readonly instance: string;
  /** Test seam: called after each step of an export ('begun', 'written'); throwing stops there, as a kill would. */
  readonly onStep?: (step: 'begun' | 'written', kind: string) => void;
}

/**
 * A legacy system's own export to the data lake: the records it produced, in its own format, as
 * one file per kind every scheduleMs (each file written atomically by the lake writer).
 *
 * outbox=memory (as grown): records wait in memory; what is buffered when the process is killed is
 * lost, as with any nightly-export integration; a clean stop exports it.
 *
 * outbox=durable: add() appends the record to the kind's outbox file before it returns (a record
 * whose identity is there already, a redelivered input's output, is not added twice). An export
 * writes down its range of records (begin) before it writes the lake file, names the file by that
 * range (`<instance>-<epoch>-<from>-<to>.<ext>`, in the date folder of the begin time), and then
 * marks the range done. After a kill the begun range is exported again under the same name, which
 * replaces a file written before the kill: every record reaches the lake exactly once.
 */
export class LakeExporter {
  private readonly buffers = new Map<string, object[]>();
  private buffered = 0;
  private readonly outboxes = new Map<string, Outbox<object>>();
  private timer: NodeJS.Timeout | null = null;
  private readonly stats = { exported: 0, files: 0, failures: 0, lastError: null as string | null };

  constructor(
    private readonly lakeDir: string,
    private readonly systemId: string,
    private readonly config: LakeExport,
    /** The landscape's data kinds: each export is encoded in its kind's layout. */
    private readonly kinds: RecordKinds,
    private readonly logger: (line: string) => void,
    /** outbox=durable; null or absent: outbox=memory. */
    private readonly durable: DurableExport | null = null,
  ) {
    // What an earlier process of this instance left unexported goes out with the first export.
    for (const name of durable?.outboxes.existing('lake-') ?? []) {
      const kind = name.slice('lake-'.length);
      if (kinds.has(kind)) this.outboxOf(kind);
      else logger(`lake export of ${systemId}: outbox ${name} is of a kind the landscape no longer declares; left alone`);
    }
  }

  /** Buffers one record for the next export (durable: appends it to the outbox); throws for a kind the landscape does not declare. */
  add(kind: string, record: object): void {
    if (!this.kinds.has(kind)) throw new Error(`lake export of ${this.systemId}: unknown data kind "${kind}"`);
    if (this.durable) return measureCpu('lakeExport', () => this.addDurable(kind, record));
    let buffer = this.buffers.get(kind);
    if (!buffer) this.buffers.set(kind, (buffer = []));
    buffer.push(record);
    if (++this.buffered >= EXPORT_BUFFER_RECORDS_MAX) this.exportNow();
  }

  start(): void {
    this.timer = setInterval(() => this.exportNow(), this.config.scheduleMs);
    this.timer.unref();
  }

  /** Writes every buffered kind as one file each; a failed write keeps its records for the next try. */
  exportNow(): void {
    measureCpu('lakeExport', () => this.exportAll());
  }

  private exportAll(): void {
    if (this.durable) {
      for (const [kind, outbox] of this.outboxes) this.exportDurable(kind, outbox);
      return;
    }
    for (const [kind, records] of this.buffers) {
      if (records.length === 0) continue;
      try {
        writeLegacyExport(this.lakeDir, this.systemId, this.kinds.get(kind), this.config.format, records as Record<string, unknown>[]);
        this.stats.exported += records.length;
        this.stats.files++;
        this.buffered -= records.length;
        this.buffers.set(kind, []);
      } catch (err) {
        this.failed(records.length, kind, err);
      }
    }
  }

  counters(): { exported: number; files: number; failures: number; buffered: number; lastError: string | null } {
    return { ...this.stats, buffered: this.durable ? this.depth() : this.buffered };
  }

  /** Exports what waits (durable: the outboxes stay open; their store closes them). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.exportNow();
  }

  private outboxOf(kind: string): Outbox<object> {
    let outbox = this.outboxes.get(kind);
    if (!outbox) {
      outbox = this.durable!.outboxes.open<object>(`lake-${kind}`, { idOf: (r) => this.kinds.idOf(kind, r) });
      this.outboxes.set(kind, outbox);
    }
    return outbox;
  }

  private depth(): number {
    let n = 0;
    for (const o of this.outboxes.values()) n += o.depth;
    return n;
  }

  private addDurable(kind: string, record: object): void {
    const outbox = this.outboxOf(kind);
    if (this.depth() >= EXPORT_OUTBOX_RECORDS_MAX) {
      this.exportNow();
      if (this.depth() >= EXPORT_OUTBOX_RECORDS_MAX) {
        throw new Error(`lake export of ${this.systemId}: ${this.depth()} records wait in its outboxes, the limit (last error: ${this.stats.lastError ?? 'none'})`);
      }
    }
    outbox.append([record]);
    if (this.depth() >= EXPORT_BUFFER_RECORDS_MAX) this.exportNow();
  }

  /** Exports the outbox's records, the handover a kill interrupted first, in files of at most EXPORT_FILE_RECORDS_MAX. */
  private exportDurable(kind: string, outbox: Outbox<object>): void {
    const { instance, onStep } = this.durable!;
    while (outbox.depth > 0) {
      let records = 0;
      try {
        let h = outbox.handover();
        if (!h) {
          const next = outbox.pending(EXPORT_FILE_RECORDS_MAX);
          const [from, to] = [next[0].seq, next[next.length - 1].seq];
          h = outbox.begin(from, to, Date.now(), `${instance}-${outbox.epoch}-${String(from).padStart(SEQ_DIGITS, '0')}-${String(to).padStart(SEQ_DIGITS, '0')}`);
          onStep?.('begun', kind);
        }
        const batch = outbox.range(h.from, h.to).map((e) => e.record as Record<string, unknown>);
        records = batch.length;
        writeLegacyExport(this.lakeDir, this.systemId, this.kinds.get(kind), this.config.format, batch, { atMs: h.atMs, name: h.name });
        onStep?.('written', kind);
        outbox.markDone(h.to);
      } catch (err) {
        this.failed(records, kind, err); // a begun export stays begun and is redone on the next try
        return;
      }
      this.stats.exported += records;
      this.stats.files++;
    }
  }

  private failed(records: number, kind: string, err: unknown): void {
    this.stats.failures++;
    this.stats.lastError = (err as Error).message;
    this.logger(`lake export of ${records} ${kind} record(s) failed: ${(err as Error).message}`);
  }
}
