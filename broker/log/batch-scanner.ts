// Sequential walk over the batches of a segment file, reading headers (and, in recovery, checking CRC-32C) with one
// fixed-size buffer: a batch bigger than the buffer is CRC-checked in streamed chunks, so a corrupt length field can
// never make us allocate more than the buffer.
import fs from 'node:fs';
import { crc32c } from '@node-rs/crc32';
import {
  BATCH_HEADER_BYTES,
  LOG_OVERHEAD,
  OFF_ATTRIBUTES,
  readBatchHeader,
  type BatchHeader,
} from './record-batch.ts';

/** Reads until `length` bytes or EOF; returns the bytes read. */
export function readFully(fd: number, buf: Buffer, offset: number, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, offset + done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

export interface ScanOptions {
  /** Verify each batch's CRC-32C (recovery); otherwise headers only. */
  verifyCrc: boolean;
  /**
   * The first batch must not start below this offset; when the scan starts at byte 0 of a segment, it must start
   * exactly here (a segment is named after its first offset). Every later batch must start right after the previous
   * one's last offset: appends and replicated appends both assign contiguous offsets and nothing compacts, so a gap
   * or overlap is damage (e.g. a flipped bit in a base offset, which the CRC does not cover).
   */
  minBaseOffset: number;
  /** The first batch must start exactly at minBaseOffset even when the scan starts mid-segment (a verified index entry). */
  exactFirst?: boolean;
  /** Read buffer size; defaults to 64 KiB for header scans and 1 MiB with CRC checks. */
  bufferBytes?: number;
}

export interface ScanResult {
  /** File position after the last good batch visited (or of the batch where the callback stopped). */
  position: number;
  /** Why the scan ended before `end`: a torn or corrupt batch; null when it reached `end` or the callback stopped. */
  problem: string | null;
  /** lastOffset + 1 of the last good batch visited, or minBaseOffset if none. */
  nextOffset: number;
}

/**
 * Visits the batches in [start, end) of `fd`. `onBatch` may return false to stop before the batch it was shown
 * (then `position` is that batch's start). Stops at the first torn or implausible batch and says why.
 */
export function scanBatches(
  fd: number,
  start: number,
  end: number,
  opts: ScanOptions,
  onBatch: (header: BatchHeader, position: number) => boolean | void,
): ScanResult {
  const bufBytes = opts.bufferBytes ?? (opts.verifyCrc ? 1 << 20 : 1 << 16);
  const buf = Buffer.allocUnsafe(bufBytes);
  let bufStart = 0; // file position of buf[0]
  let bufLen = 0;
  let pos = start;
  let nextOffset = opts.minBaseOffset;

  const fill = (at: number): void => {
    bufStart = at;
    bufLen = readFully(fd, buf, 0, Math.min(bufBytes, end - at), at);
  };

  while (pos < end) {
    if (end - pos < BATCH_HEADER_BYTES) {
      return { position: pos, nextOffset, problem: `torn batch header: only ${end - pos} bytes left` };
    }
    if (pos < bufStart || pos + BATCH_HEADER_BYTES > bufStart + bufLen) fill(pos);
    if (pos + BATCH_HEADER_BYTES > bufStart + bufLen) {
      return { position: pos, nextOffset, problem: 'short read of batch header' };
    }
    const h = readBatchHeader(buf, pos - bufStart);
    const exact = pos > start || start === 0 || opts.exactFirst === true;
    const problem = headerProblem(h, nextOffset, end - pos) ?? (exact ? continuityProblem(h, nextOffset) : null);
    if (problem) return { position: pos, nextOffset, problem };
    if (opts.verifyCrc) {
      const crc = streamCrc(pos, h.totalBytes);
      if (crc !== h.crc) {
        return {
          position: pos,
          nextOffset,
          problem: `CRC-32C mismatch at offset ${h.baseOffset} (stored 0x${h.crc.toString(16)}, computed 0x${crc.toString(16)})`,
        };
      }
    }
    if (onBatch(h, pos) === false) return { position: pos, nextOffset, problem: null };
    pos += h.totalBytes;
    nextOffset = h.lastOffset + 1;
  }
  return { position: pos, nextOffset, problem: null };

  /** CRC-32C of [batchPos + 21, batchPos + total), using the buffered bytes and reading the rest in chunks. */
  function streamCrc(batchPos: number, total: number): number {
    let from = batchPos + OFF_ATTRIBUTES;
    const to = batchPos + total;
    let crc = 0;
    while (from < to) {
      if (from < bufStart || from >= bufStart + bufLen) fill(from);
      const avail = Math.min(bufStart + bufLen, to) - from;
      if (avail <= 0) return -1; // file shorter than expected: treat as corrupt
      crc = crc32c(buf.subarray(from - bufStart, from - bufStart + avail), crc);
      from += avail;
    }
    return crc;
  }
}

/** A batch that does not start right after the previous one (`expected` = its lastOffset + 1); null if it does. */
export function continuityProblem(h: BatchHeader, expected: number): string | null {
  if (h.baseOffset === expected) return null;
  return `offsets not contiguous: batch starts at ${h.baseOffset}, expected ${expected}`;
}

/** Structural sanity of a stored batch header; null if plausible. */
export function headerProblem(h: BatchHeader, minBaseOffset: number, bytesLeft: number): string | null {
  if (h.batchLength < BATCH_HEADER_BYTES - LOG_OVERHEAD) return `implausible batchLength ${h.batchLength}`;
  if (h.magic !== 2) return `bad magic ${h.magic}`;
  if (h.totalBytes > bytesLeft) return `torn batch: needs ${h.totalBytes} bytes, ${bytesLeft} left`;
  if (h.lastOffsetDelta < 0) return `bad lastOffsetDelta ${h.lastOffsetDelta}`;
  if (h.baseOffset < minBaseOffset) return `offset ${h.baseOffset} goes backwards (expected >= ${minBaseOffset})`;
  return null;
}
