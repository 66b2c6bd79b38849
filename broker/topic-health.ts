/**
 * What TopicStore (topics.ts) reports about the health of its partitions' storage: storage errors contained to one
 * partition (counted, and logged without flooding the log while a disk keeps failing), and the metrics of partitions
 * that are offline or whose log found damage in its own bytes (log/corruption.ts).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { corruptionCounts, type CorruptionCounts } from './log/corruption.ts';
import { errorText } from './log/quarantine.ts';
import { RateLimitedLog } from './server/rate-limited-log.ts';
import type { Partition, Topic } from './topics.ts';

/** A partition's repeated storage errors are logged at most once per this interval (and counted every time). */
const STORAGE_ERROR_LOG_INTERVAL_MS = 60_000;

/**
 * Storage errors contained to one partition (retention, opening its log): the partition keeps serving (or, when its
 * log could not be opened, the others do), so the error must stay visible: counted every time, per topic, partition
 * and operation, and logged at most once a minute per partition and operation, and rate-limited overall.
 */
export class PartitionStorageErrors {
  /** Storage errors contained per partition (retention, opening), by topic, partition and operation. */
  readonly counter = new Counter({
    name: 'untangle_broker_storage_errors_total',
    help: 'Storage errors contained to one partition (retention, opening its log), per topic, partition and operation',
    labelNames: ['topic', 'partition', 'operation'],
    registers: [],
  });
  private readonly errorLog: RateLimitedLog;
  private readonly lastReported = new Map<string, { atMs: number; suppressed: number }>();

  constructor(logger: (line: string) => void) {
    this.errorLog = new RateLimitedLog(logger);
  }

  /** Counts an error that the caller logs itself (a log that cannot be opened, which happens once per start). */
  count(topic: string, partition: number, operation: string): void {
    this.counter.inc({ topic, partition: String(partition), operation });
  }

  /** Counts an error of a repeated operation that the next run retries, and logs it unless reported recently. */
  report(partition: Partition, operation: string, err: unknown): void {
    const name = `${partition.topic}-${partition.index}`;
    this.count(partition.topic, partition.index, operation);
    const key = `${name} ${operation}`;
    const now = Date.now();
    const last = this.lastReported.get(key);
    if (last && now - last.atMs < STORAGE_ERROR_LOG_INTERVAL_MS) {
      last.suppressed++;
      return;
    }
    const more = last && last.suppressed > 0 ? ` (${last.suppressed} more since the last report)` : '';
    this.lastReported.set(key, { atMs: now, suppressed: 0 });
    this.errorLog.log(`error: storage error in ${operation} of partition ${name}: ${errorText(err)}${more}; the partition keeps serving and the next run retries`);
  }

  /** Logs a line through the same overall rate limit (e.g. a whole retention run that failed). */
  log(line: string): void {
    this.errorLog.log(line);
  }
}

/**
 * Adds the storage-health metrics of `topics` (read at every scrape, so topics created or deleted later count) to a
 * broker's registry: the contained storage errors, the offline partitions, and per partition what its log found in
 * its own bytes (only partitions with a finding appear).
 */
export function registerStorageHealthMetrics(
  registry: Registry,
  topics: ReadonlyMap<string, Topic>,
  partitionDir: (topic: string, partition: number) => string,
  errors: PartitionStorageErrors,
): void {
  registry.registerMetric(errors.counter);
  new Gauge({
    name: 'untangle_broker_offline_partitions',
    help: 'Partitions whose log could not be opened or was found corrupt while serving (answered with KAFKA_STORAGE_ERROR)',
    registers: [registry],
    collect() {
      let n = 0;
      for (const topic of topics.values()) for (const p of topic.partitions) if (p.offline !== null) n++;
      this.set(n);
    },
  });
  const findings: [string, string, keyof CorruptionCounts][] = [
    ['untangle_broker_log_index_rebuilds_total', 'Offset or time indexes rebuilt because an entry did not match its batch', 'indexRebuilds'],
    ['untangle_broker_log_corrupt_batches_total', 'Corrupt batches found by reads and the scrubber (each took the partition offline)', 'corruptBatches'],
    ['untangle_broker_log_gap_offsets_total', 'Offsets found missing between segments when the log was opened', 'gapOffsets'],
    ['untangle_broker_log_quarantined_bytes_total', 'Bytes recovery cut off the log and moved to the quarantine folder', 'quarantinedBytes'],
  ];
  for (const [name, help, key] of findings) {
    new Counter({
      name,
      help,
      labelNames: ['topic', 'partition'],
      registers: [registry],
      collect() {
        this.reset();
        for (const topic of topics.values()) {
          for (const p of topic.partitions) {
            const c = corruptionCounts(partitionDir(topic.name, p.index));
            const n = key === 'indexRebuilds' ? c.indexRebuilds + c.timeIndexRebuilds : c[key];
            if (n > 0) this.inc({ topic: topic.name, partition: String(p.index) }, n);
          }
        }
      },
    });
  }
}
