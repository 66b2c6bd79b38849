// The layer of a partition log that moves its start forward (PartitionLog extends LogCore extends LogRetention extends
// LogStore): DeleteRecords and retention (retention.ms, retention.bytes), and the deletion of the segments that fall
// wholly below the new log start, including those whose files could not be deleted the first time.
//
// The order is the same for both: the new logStartOffset is made durable (log-meta.json) and the leader epoch cache
// follows it before any file is deleted, so a crash in between leaves files below the persisted start, which the
// next open deletes.
import type { Segment } from './segment.ts';
import { LogStore, storageError } from './log-store.ts';

/** DeleteRecords and retention over the segments of LogStore. Abstract: built only as a PartitionLog. */
export abstract class LogRetention extends LogStore {
  /**
   * Segments already dropped from the log (wholly below logStartOffset) whose files could not be deleted, e.g. on an
   * I/O error. Nothing reads them any more; retention retries deleting them, and the next open deletes them too.
   */
  private undeleted: Segment[] = [];
  /** Why the last of them could not be deleted. */
  private undeletedError = '';

  /**
   * DeleteRecords: moves logStartOffset up to `offset` (capped at the log end) and deletes the segments that lie
   * entirely below it; when everything is deleted, a new empty segment is rolled at the log end first. The new
   * logStartOffset is made durable before any file is deleted. Returns the new low watermark.
   */
  deleteRecordsBefore(offset: number): number {
    this.ensureOpen();
    const target = Math.min(offset, this.logEndOffset);
    if (target <= this.startOffset) return this.startOffset;
    this.startOffset = target;
    try {
      this.persistMeta();
      this.startMoved();
      if (target === this.logEndOffset && !this.active.isEmpty) this.roll(Date.now());
      let n = 0;
      while (n < this.segments.length - 1 && this.segments[n].nextOffset <= target) n++;
      this.deleteOldest(n);
    } catch (err) {
      throw storageError(`deleteRecords on ${this.dir}`, err);
    }
    return this.startOffset;
  }

  /**
   * Deletes the oldest non-active segments that breach retention.ms (newest timestamp in the segment, or the file's
   * mtime when it has none, older than nowMs - retentionMs) and then retention.bytes (Kafka's rule: delete a segment
   * only if the log stays >= retentionBytes without it). Returns the number of segments deleted.
   *
   * Throws KAFKA_STORAGE_ERROR when the storage fails: the log stays consistent and keeps serving reads and appends
   * (logStartOffset moves only in memory if it could not be persisted, and segments whose files could not be deleted
   * are out of the log and retried by the next call). The caller is a timer, which must contain the error.
   */
  enforceRetention(nowMs: number): number {
    this.ensureOpen();
    let n: number;
    try {
      this.retryUndeleted();
      n = this.segmentsBeyondRetention(nowMs);
      if (n > 0) {
        this.startOffset = Math.max(this.startOffset, this.segments[n].baseOffset);
        this.persistMeta();
        this.startMoved();
        this.deleteOldest(n);
      }
    } catch (err) {
      throw storageError(`retention on ${this.dir}`, err);
    }
    if (this.undeleted.length > 0) {
      throw storageError(
        `retention on ${this.dir}`,
        new Error(`${this.undeleted.length} segment(s) below the log start could not be deleted (${this.undeletedError}); retrying`),
      );
    }
    return n;
  }

  /** How many of the oldest segments retention.ms and retention.bytes remove (never the active one). */
  private segmentsBeyondRetention(nowMs: number): number {
    const { retentionMs, retentionBytes } = this.cfg;
    let n = 0;
    const last = this.segments.length - 1;
    if (retentionMs >= 0) {
      while (n < last) {
        const seg = this.segments[n];
        const newest = seg.maxTimestamp >= 0 ? seg.maxTimestamp : seg.lastModifiedMs();
        if (nowMs - newest <= retentionMs) break;
        n++;
      }
    }
    if (retentionBytes >= 0) {
      let excess = this.totalBytes - retentionBytes;
      for (let i = 0; i < n; i++) excess -= this.segments[i].size;
      while (n < last && excess - this.segments[n].size >= 0) {
        excess -= this.segments[n].size;
        n++;
      }
    }
    return n;
  }

  /** Segments out of the log whose files are still on disk (see `undeleted`). */
  get undeletedSegments(): number {
    return this.undeleted.length;
  }

  private retryUndeleted(): void {
    const again = this.undeleted;
    this.undeleted = [];
    for (const seg of again) this.deleteBelowStart(seg);
  }

  /** Deletes the files of a segment that is already out of the log; on failure keeps it for a retry. */
  private deleteBelowStart(seg: Segment): void {
    try {
      seg.deleteFiles();
    } catch (err) {
      this.undeleted.push(seg);
      this.undeletedError = (err as Error).message;
    }
  }

  /** Epochs wholly below the new log start go; the one covering it now starts there. */
  private startMoved(): void {
    if (this.epochs.truncateFromStart(this.startOffset)) this.epochs.persist();
  }

  /**
   * Drops the n oldest segments, which lie wholly below logStartOffset (already persisted), and deletes their files.
   * A file that cannot be deleted does not fail the operation: nothing reads it any more, it is retried by retention
   * and deleted by the next open (it lies below the persisted logStartOffset).
   */
  private deleteOldest(n: number): void {
    if (n <= 0) return;
    for (const seg of this.segments.splice(0, n)) {
      this.totalBytes -= seg.size;
      this.deleteBelowStart(seg);
    }
    this.persistMeta();
  }
}
