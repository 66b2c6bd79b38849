// Background scrubber: re-reads every sealed segment of every partition, CRC-32C checking each batch and the offset
// continuity between batches, at a bounded rate, so that bit rot in data nobody reads is found before a consumer (or
// a follower that becomes leader) needs it.
//
// Kafka has no scrubber: its broker validates CRCs on append and in the log cleaner, and its consumers check them.
// This is modelled on the storage systems that do have one: Ceph's deep scrub (osd_deep_scrub_interval, a week by
// default; reads every object and compares checksums, throttled by osd_scrub_sleep) and ZFS's `zpool scrub` (reads
// every block and verifies its checksum, at a throttled rate so foreground I/O keeps priority). Like them it only
// finds and reports: a corrupt segment takes its partition offline (the same path as a corrupt read, corruption.ts),
// and the next start cuts the damaged bytes to quarantine. There is no redundant copy on one node to repair from.
//
// The active segment is not scrubbed: it is being written, was CRC-checked on append, and recovery re-validates it
// after an unclean stop. One pass walks the partitions in turn; a pass starts intervalMs after the previous one ended.
import fs from 'node:fs';
import path from 'node:path';
import { Counter, Gauge, type Registry } from 'prom-client';
import { scanBatches } from './batch-scanner.ts';
import { CorruptLogError } from './corruption.ts';
import { errorText } from './quarantine.ts';
import type { PartitionLogApi } from './offline-log.ts';
import type { Segment } from './segment.ts';

export interface ScrubberConfig {
  /** Pause between the end of one pass and the start of the next; 0 turns the scrubber off. */
  intervalMs: number;
  /** Read rate limit over all partitions, in bytes per second. */
  bytesPerSec: number;
}

/** A week between passes, as Ceph's deep scrub; 8 MiB/s reads 1 TiB in ~36 h, a small share of any disk. */
export const DEFAULT_SCRUBBER_CONFIG: ScrubberConfig = { intervalMs: 7 * 24 * 60 * 60 * 1000, bytesPerSec: 8 * 1024 * 1024 };

export interface ScrubTarget {
  /** `<topic>-<partition>`, for log lines and metrics. */
  name: string;
  log: PartitionLogApi;
}

/** Bytes checked per slice before the scrubber yields and sleeps to keep to its rate: at most 1 MiB, ~1/10 s of rate. */
function sliceBytes(bytesPerSec: number): number {
  return Math.max(64 * 1024, Math.min(1 << 20, Math.floor(bytesPerSec / 10)));
}

export class Scrubber {
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private wakeSleep: (() => void) | null = null;
  private running: Promise<void> | null = null;
  private readonly bytes = new Counter({ name: 'untangle_broker_scrub_bytes_total', help: 'Bytes of sealed segments the scrubber has CRC-checked', registers: [] });
  private readonly corrupt = new Counter({
    name: 'untangle_broker_scrub_corrupt_segments_total',
    help: 'Sealed segments in which the scrubber found corruption (each took its partition offline)',
    registers: [],
  });
  private readonly errors = new Counter({
    name: 'untangle_broker_scrub_errors_total',
    help: 'Segments the scrubber could not read (I/O errors; retried by the next pass)',
    registers: [],
  });
  private readonly passes = new Counter({ name: 'untangle_broker_scrub_passes_total', help: 'Completed scrubber passes over every sealed segment', registers: [] });
  private readonly lastPass = new Gauge({
    name: 'untangle_broker_scrub_last_pass_end_seconds',
    help: 'Unix time at which the last complete scrubber pass ended (0: none yet)',
    registers: [],
  });

  constructor(
    private readonly targets: () => Iterable<ScrubTarget>,
    private readonly config: ScrubberConfig,
    private readonly logger: (line: string) => void,
  ) {
    if (!(config.bytesPerSec > 0)) throw new Error(`scrubber rate must be > 0 bytes/s, got ${config.bytesPerSec}`);
    if (!(config.intervalMs >= 0)) throw new Error(`scrubber interval must be >= 0 ms, got ${config.intervalMs}`);
  }

  registerMetrics(registry: Registry): void {
    for (const m of [this.bytes, this.corrupt, this.errors, this.passes, this.lastPass]) registry.registerMetric(m);
  }

  /** Schedules passes every intervalMs (none when it is 0). */
  start(): void {
    if (this.config.intervalMs > 0) this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.runPass()
        .catch((err: unknown) => this.logger(`error: scrubber pass failed: ${errorText(err)}`))
        .then(() => {
          this.running = null;
          this.schedule();
        });
    }, this.config.intervalMs);
    this.timer.unref();
  }

  /** One pass over every sealed segment of every partition. Errors are contained per segment; never rejects. */
  async runPass(): Promise<{ bytes: number; corrupt: number }> {
    let bytes = 0;
    let corrupt = 0;
    for (const target of [...this.targets()]) {
      for (const seg of target.log.sealedSegments()) {
        if (this.stopped) return { bytes, corrupt };
        try {
          const r = await this.scrubSegment(target, seg);
          bytes += r.bytes;
          if (r.corrupt) corrupt++;
          if (r.corrupt) break; // the partition is offline now
        } catch (err) {
          // e.g. retention deleted the file under us, or an I/O error: the next pass tries again
          if (target.log.sealedSegments().includes(seg)) {
            this.errors.inc();
            this.logger(`error: scrubber could not read ${seg.logPath} of ${target.name}: ${errorText(err)}; the next pass retries`);
          }
        }
      }
    }
    if (!this.stopped) {
      this.passes.inc();
      this.lastPass.set(Date.now() / 1000);
    }
    return { bytes, corrupt };
  }

  /** CRC-checks one segment in slices, sleeping between them to keep to the rate. */
  private async scrubSegment(target: ScrubTarget, seg: Segment): Promise<{ bytes: number; corrupt: boolean }> {
    const slice = sliceBytes(this.config.bytesPerSec);
    const end = seg.size;
    let pos = 0;
    let next = seg.baseOffset;
    const fd = fs.openSync(seg.logPath, 'r');
    try {
      while (pos < end && !this.stopped) {
        const started = Date.now();
        const sliceStart = pos;
        const r = scanBatches(fd, pos, end, { verifyCrc: true, minBaseOffset: next, exactFirst: true }, (_h, position) => position === sliceStart || position - sliceStart < slice);
        const problem =
          r.problem ?? (r.position >= end && r.nextOffset !== seg.nextOffset ? `the segment ends at offset ${r.nextOffset - 1}, the log says ${seg.nextOffset - 1}` : null);
        if (problem !== null) {
          // Only a segment still in the log, unchanged, is reported (retention may have deleted it meanwhile).
          if (!target.log.sealedSegments().includes(seg) || seg.size !== end) return { bytes: r.position - sliceStart, corrupt: false };
          this.corrupt.inc();
          target.log.failOnCorruption(new CorruptLogError(path.dirname(seg.logPath), seg.baseOffset, r.position, `scrubber: ${problem}`));
          return { bytes: r.position, corrupt: true };
        }
        // The first batch of a slice is always taken, however big, so every slice moves on.
        pos = r.position;
        next = r.nextOffset;
        this.bytes.inc(pos - sliceStart);
        await this.sleep(((pos - sliceStart) / this.config.bytesPerSec) * 1000 - (Date.now() - started));
      }
    } finally {
      fs.closeSync(fd);
    }
    return { bytes: pos, corrupt: false };
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wakeSleep = null;
        resolve();
      }, ms);
      t.unref();
      this.wakeSleep = () => {
        clearTimeout(t);
        this.wakeSleep = null;
        resolve();
      };
    });
  }

  /** Stops scheduling and ends a running pass at its next slice. */
  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.wakeSleep?.();
    await this.running;
  }
}
