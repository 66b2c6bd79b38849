/**
 * Checks on a request's declared sizes made before it is decoded, for requests whose decoded form
 * costs far more memory than their bytes and that the broker would refuse anyway. An OffsetCommit
 * frame of a few MiB can list hundreds of thousands of partitions: decoded, that is one object per
 * partition (and one more per partition in the answer), tens of MiB per request, only for the group's
 * limits to refuse every partition past max-offsets-per-group. Counting the partitions by walking the
 * bytes (nothing kept) lets such a request be refused for the price of reading it.
 *
 * Hand-written rather than generated: only OffsetCommit needs it, and the walk must allocate nothing
 * per element, which the generated decoders (building the message) cannot offer.
 */
import { ProtocolError, Reader } from '../protocol/wire.ts';
import type { BrokerConfig } from '../config.ts';

const OFFSET_COMMIT_KEY = 8;
/** OffsetCommit is flexible (compact strings and arrays, tagged fields) from this version on. */
const OFFSET_COMMIT_FLEXIBLE = 8;

/**
 * Partitions an OffsetCommit request body lists over all its topics, counted without decoding it.
 * Reads from a copy of `body`'s position, so the caller's reader is left where it was. Malformed
 * bytes throw ProtocolError, as the decoder would.
 */
export function countOffsetCommitPartitions(body: Reader, version: number): number {
  const r = new Reader(body.buffer, body.offset, body.offset + body.remaining);
  const flexible = version >= OFFSET_COMMIT_FLEXIBLE;
  const skipString = (nullable: boolean): void => {
    const at = r.offset;
    const length = flexible ? r.readUnsignedVarint() - 1 : r.readInt16();
    if (length === -1 && nullable) return;
    if (length < 0) throw new ProtocolError(`string has invalid length ${length}`, at);
    r.skip(length);
  };
  skipString(false); // groupId
  if (version >= 1) r.skip(4); // generationIdOrMemberEpoch
  if (version >= 1) skipString(false); // memberId
  if (version >= 7) skipString(true); // groupInstanceId
  if (version >= 2 && version <= 4) r.skip(8); // retentionTimeMs
  const topics = flexible ? r.readCompactArrayLength(3) : r.readArrayLength(6);
  let partitions = 0;
  for (let t = 0; t < topics; t++) {
    skipString(false); // name
    const count = flexible ? r.readCompactArrayLength(18) : r.readArrayLength(14);
    partitions += count;
    for (let p = 0; p < count; p++) {
      r.skip(4 + 8); // partitionIndex, committedOffset
      if (version >= 6) r.skip(4); // committedLeaderEpoch
      if (version === 1) r.skip(8); // commitTimestamp
      skipString(true); // committedMetadata
      if (flexible) r.skipTaggedFields();
    }
    if (flexible) r.skipTaggedFields();
  }
  if (flexible) r.skipTaggedFields();
  return partitions;
}

/**
 * Why the request must be refused before decoding (the connection is then closed, as Kafka closes
 * one whose request it will not parse), or null to decode it as usual.
 */
export function refuseBeforeDecode(apiKey: number, version: number, body: Reader, config: Pick<BrokerConfig, 'maxOffsetsPerGroup'>): string | null {
  if (apiKey !== OFFSET_COMMIT_KEY) return null;
  const partitions = countOffsetCommitPartitions(body, version);
  if (partitions <= config.maxOffsetsPerGroup) return null;
  return `OffsetCommit lists ${partitions} partitions, more than a group may hold offsets for (max-offsets-per-group ${config.maxOffsetsPerGroup}); refused before decoding`;
}
