/** A legacy system's own scheduled batch export to the data lake (see LakeExporter). */
import { writeLegacyExport } from '../lake/index.ts';
import type { RecordKinds } from '../model/kinds.ts';
import type { LakeExport } from '../topology/index.ts';

/** Records held for the next export; reaching it triggers an export before the schedule. */
export const EXPORT_BUFFER_RECORDS_MAX = 10_000;

/**
 * A legacy system's own export to the data lake: the records it produced, in its own format, as
 * one file per kind every scheduleMs (each file written atomically by the lake writer). What is
 * buffered when the process is killed is lost, as with any nightly-export integration; a clean
 * stop exports it.
 */
export class LakeExporter {
  private readonly buffers = new Map<string, object[]>();
  private buffered = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly stats = { exported: 0, files: 0, failures: 0, lastError: null as string | null };

  constructor(
    private readonly lakeDir: string,
    private readonly systemId: string,
    private readonly config: LakeExport,
    /** The landscape's data kinds: each export is encoded in its kind's layout. */
    private readonly kinds: RecordKinds,
    private readonly logger: (line: string) => void,
  ) {}

  /** Buffers one record for the next export; throws for a kind the landscape does not declare. */
  add(kind: string, record: object): void {
    if (!this.kinds.has(kind)) throw new Error(`lake export of ${this.systemId}: unknown data kind "${kind}"`);
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
    for (const [kind, records] of this.buffers) {
      if (records.length === 0) continue;
      try {
        writeLegacyExport(this.lakeDir, this.systemId, this.kinds.get(kind), this.config.format, records as Record<string, unknown>[]);
        this.stats.exported += records.length;
        this.stats.files++;
        this.buffered -= records.length;
        this.buffers.set(kind, []);
      } catch (err) {
        this.stats.failures++;
        this.stats.lastError = (err as Error).message;
        this.logger(`lake export of ${records.length} ${kind} record(s) failed: ${(err as Error).message}`);
      }
    }
  }

  counters(): { exported: number; files: number; failures: number; buffered: number; lastError: string | null } {
    return { ...this.stats, buffered: this.buffered };
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.exportNow();
  }
}
