// The pre-decode count of OffsetCommit partitions (broker/server/request-bounds.ts) agrees with the
// generated decoder at every version, leaves the caller's reader alone, and refuses only past the
// group's limit; malformed bytes are reported as the decoder reports them.
import { describe, expect, test } from 'vitest';
import { Reader, ProtocolError } from '../../broker/protocol/wire.ts';
import { Writer } from '../../broker/protocol/writer.ts';
import { Writer as WireWriter } from '../helpers/kafka-wire.ts';
import { decodeOffsetCommitRequest, encodeOffsetCommitRequest, type OffsetCommitRequest } from '../../broker/protocol/generated/index.ts';
import { countOffsetCommitPartitions, refuseBeforeDecode } from '../../broker/server/request-bounds.ts';

function request(topics: number, partitions: number): OffsetCommitRequest {
  return {
    groupId: 'g', generationIdOrMemberEpoch: 3, memberId: 'm', groupInstanceId: null, retentionTimeMs: -1,
    topics: Array.from({ length: topics }, (_, t) => ({
      name: `topic-${t}`,
      partitions: Array.from({ length: partitions }, (_, p) => ({
        partitionIndex: p, committedOffset: 10 * p, committedLeaderEpoch: 1, commitTimestamp: -1,
        committedMetadata: p % 2 === 0 ? null : `meta-${p}`,
      })),
    })),
  };
}

function encoded(req: OffsetCommitRequest, version: number): Buffer {
  const w = new Writer();
  encodeOffsetCommitRequest(w, req, version);
  return w.toBuffer();
}

describe('OffsetCommit partitions counted before decoding', () => {
  test.each(Array.from({ length: 10 }, (_, v) => v))('v%i: the count matches the decoder, the reader is left where it was', (version) => {
    const body = encoded(request(3, 7), version);
    const r = new Reader(body);
    expect(countOffsetCommitPartitions(r, version)).toBe(21);
    expect(r.offset).toBe(0);
    const decoded = decodeOffsetCommitRequest(r, version);
    expect(decoded.topics.flatMap((t) => t.partitions)).toHaveLength(21);
  });

  test('refuses past max-offsets-per-group, not at it; other APIs are never looked at', () => {
    const body = encoded(request(2, 50), 7);
    expect(refuseBeforeDecode(8, 7, new Reader(body), { maxOffsetsPerGroup: 100 })).toBeNull();
    expect(refuseBeforeDecode(8, 7, new Reader(body), { maxOffsetsPerGroup: 99 })).toMatch(/lists 100 partitions.*max-offsets-per-group 99/);
    expect(refuseBeforeDecode(9, 7, new Reader(Buffer.alloc(0)), { maxOffsetsPerGroup: 0 })).toBeNull();
  });

  test('truncated bodies and bad lengths throw ProtocolError, as decoding would', () => {
    for (const version of [0, 7, 8, 9]) {
      const body = encoded(request(2, 3), version);
      for (let cut = 0; cut < body.length; cut++) {
        expect(() => countOffsetCommitPartitions(new Reader(body.subarray(0, cut)), version), `v${version} cut at ${cut}`).toThrow(ProtocolError);
      }
    }
    const huge = new WireWriter().string('g').int32(1).string('m').string(null).int32(0x7fffffff).toBuffer();
    expect(() => countOffsetCommitPartitions(new Reader(huge), 7)).toThrow(ProtocolError);
  });
});
