/**
 * The APIs and version ranges this broker implements and advertises in ApiVersions. Every range
 * here is handled in full; nothing is advertised that is not implemented, because librdkafka and
 * @platformatic/kafka pick versions from these ranges and kafkajs ignores minimums.
 *
 * The lower bounds matter as much as the upper ones: librdkafka enables features by checking that
 * the ranges contain fixed points (Produce 3 and Fetch 4 for record batches v2, FindCoordinator 0 for
 * consumer groups and LZ4, InitProducerId 0 for idempotence, Produce 7 and Fetch 10 for zstd).
 * librdkafka 2.0.2 also only compresses with gzip, snappy or lz4 when the Produce range contains 0
 * (seen on the wire: with Produce 3-7 it logs "Broker does not support compression type gzip" and
 * sends uncompressed batches), so Produce starts at 0. Produce v0-2 requests are decoded and
 * answered; their legacy message sets (magic 0/1) are refused with UNSUPPORTED_FOR_MESSAGE_FORMAT,
 * as Kafka 4 refuses them. Every client here sends v7 with record batches v2.
 */
export const ADVERTISED_API_VERSIONS: ReadonlyMap<number, { min: number; max: number }> = new Map([
  [0, { min: 0, max: 7 }], // Produce
  [1, { min: 4, max: 11 }], // Fetch
  [2, { min: 0, max: 10 }], // ListOffsets (v0 as Kafka 3 answered it; Kafka 4 dropped it: handlers/list-offsets.ts)
  [3, { min: 4, max: 6 }], // Metadata
  [8, { min: 5, max: 7 }], // OffsetCommit
  [9, { min: 4, max: 7 }], // OffsetFetch
  [10, { min: 0, max: 2 }], // FindCoordinator
  [11, { min: 5, max: 5 }], // JoinGroup
  [12, { min: 3, max: 3 }], // Heartbeat
  [13, { min: 1, max: 3 }], // LeaveGroup
  [14, { min: 3, max: 3 }], // SyncGroup
  [15, { min: 0, max: 4 }], // DescribeGroups
  [16, { min: 0, max: 4 }], // ListGroups
  [18, { min: 0, max: 3 }], // ApiVersions
  [19, { min: 3, max: 4 }], // CreateTopics
  [20, { min: 0, max: 1 }], // DeleteTopics
  [21, { min: 0, max: 1 }], // DeleteRecords
  [22, { min: 0, max: 5 }], // InitProducerId (idempotent producers only; v5 adds an error only transactions raise)
  [23, { min: 2, max: 4 }], // OffsetForLeaderEpoch (v0-1 are deprecated and gone in Kafka 4)
  [32, { min: 1, max: 4 }], // DescribeConfigs (v3+: config types and documentation, broker configs; topic configs send type 0 = unknown)
  [33, { min: 0, max: 1 }], // AlterConfigs
  [29, { min: 0, max: 3 }], // DescribeAcls
  [30, { min: 0, max: 3 }], // CreateAcls
  [31, { min: 0, max: 3 }], // DeleteAcls
  [37, { min: 0, max: 1 }], // CreatePartitions
  [42, { min: 0, max: 1 }], // DeleteGroups
  [47, { min: 0, max: 0 }], // OffsetDelete
  [17, { min: 0, max: 1 }], // SaslHandshake (v0 only with SaslAuthenticate framing, not raw tokens: sasl/session.ts)
  [36, { min: 0, max: 2 }], // SaslAuthenticate
  [50, { min: 0, max: 0 }], // DescribeUserScramCredentials
  [51, { min: 0, max: 0 }], // AlterUserScramCredentials
]);

export const API_VERSIONS_KEY = 18;
