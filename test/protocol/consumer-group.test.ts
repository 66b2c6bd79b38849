// Codecs of the KIP-848 consumer-group APIs, ConsumerGroupHeartbeat (68, v0-1) and
// ConsumerGroupDescribe (69, v0): round trips at every version, and bodies written out byte by
// byte from Kafka's rules (all versions are flexible: compact strings and arrays, a tag buffer
// after every struct; the nullable Assignment struct is preceded by an INT8 marker, -1 null, 1 present).
import { describe, expect, it } from 'vitest';
import {
  ApiKey,
  API_SCHEMAS,
  type ConsumerGroupDescribeRequest,
  type ConsumerGroupDescribeResponse,
  type ConsumerGroupHeartbeatRequest,
  type ConsumerGroupHeartbeatResponse,
  consumerGroupDescribeApi,
  consumerGroupHeartbeatApi,
  decodeConsumerGroupDescribeRequest,
  decodeConsumerGroupDescribeResponse,
  decodeConsumerGroupHeartbeatRequest,
  decodeConsumerGroupHeartbeatResponse,
  defaultConsumerGroupHeartbeatRequest,
  defaultConsumerGroupHeartbeatResponse,
  encodeConsumerGroupDescribeRequest,
  encodeConsumerGroupDescribeResponse,
  encodeConsumerGroupHeartbeatRequest,
  encodeConsumerGroupHeartbeatResponse,
} from '../../broker/protocol/generated/index.ts';
import { ADVERTISED_API_VERSIONS } from '../../broker/server/api-versions.ts';
import { ProtocolError, Reader, Writer } from '../../broker/protocol/wire.ts';

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

function ascii(text: string): string {
  return Buffer.from(text).toString('hex');
}

const TOPIC_ID = hex('000102030405060708090a0b0c0d0e0f');
const TOPIC_ID_HEX = '000102030405060708090a0b0c0d0e0f';

function bytesOf<T>(encode: (w: Writer, msg: T, version: number) => void, msg: T, version: number): Buffer {
  const w = new Writer();
  encode(w, msg, version);
  return w.toBuffer();
}

/** Encode, decode (whole input consumed), re-encode to the same bytes; returns the bytes. */
function roundTrip<T>(
  encode: (w: Writer, msg: T, version: number) => void,
  decode: (r: Reader, version: number) => T,
  msg: T,
  version: number,
): Buffer {
  const bytes = bytesOf(encode, msg, version);
  const r = new Reader(bytes);
  const decoded = decode(r, version);
  expect(decoded).toEqual(msg);
  expect(r.remaining).toBe(0);
  expect(bytesOf(encode, decoded, version)).toEqual(bytes);
  return bytes;
}

const heartbeatRequest = (version: number): ConsumerGroupHeartbeatRequest => ({
  groupId: 'g',
  memberId: 'm',
  memberEpoch: 0,
  instanceId: null,
  rackId: 'r',
  rebalanceTimeoutMs: 300_000,
  subscribedTopicNames: ['t'],
  subscribedTopicRegex: version >= 1 ? 'a.*' : null,
  serverAssignor: null,
  topicPartitions: [{ topicId: TOPIC_ID, partitions: [0, 1] }],
});

const heartbeatResponse = (assigned: boolean): ConsumerGroupHeartbeatResponse => ({
  throttleTimeMs: 0,
  errorCode: 0,
  errorMessage: null,
  memberId: 'm',
  memberEpoch: 1,
  heartbeatIntervalMs: 5000,
  assignment: assigned ? { topicPartitions: [{ topicId: TOPIC_ID, partitions: [2] }] } : null,
});

const describeResponse: ConsumerGroupDescribeResponse = {
  throttleTimeMs: 0,
  groups: [
    {
      errorCode: 0,
      errorMessage: null,
      groupId: 'g',
      groupState: 'Stable',
      groupEpoch: 3,
      assignmentEpoch: 3,
      assignorName: 'uniform',
      members: [
        {
          memberId: 'm',
          instanceId: null,
          rackId: null,
          memberEpoch: 3,
          clientId: 'c',
          clientHost: '/h',
          subscribedTopicNames: ['t'],
          subscribedTopicRegex: null,
          assignment: { topicPartitions: [{ topicId: TOPIC_ID, topicName: 't', partitions: [0] }] },
          targetAssignment: { topicPartitions: [] },
        },
      ],
      authorizedOperations: -2147483648,
    },
  ],
};

describe('ConsumerGroupHeartbeat (68) and ConsumerGroupDescribe (69) codecs', () => {
  it('are registered with their keys and versions, and not advertised', () => {
    expect(ApiKey.ConsumerGroupHeartbeat).toBe(68);
    expect(ApiKey.ConsumerGroupDescribe).toBe(69);
    expect(API_SCHEMAS.get(68)).toBe(consumerGroupHeartbeatApi);
    expect(API_SCHEMAS.get(69)).toBe(consumerGroupDescribeApi);
    expect(consumerGroupHeartbeatApi).toMatchObject({ minVersion: 0, maxVersion: 1, firstFlexibleVersion: 0 });
    expect(consumerGroupDescribeApi).toMatchObject({ minVersion: 0, maxVersion: 0, firstFlexibleVersion: 0 });
    expect(ADVERTISED_API_VERSIONS.has(68)).toBe(false);
    expect(ADVERTISED_API_VERSIONS.has(69)).toBe(false);
  });

  it('defaults: nullable fields null, RebalanceTimeoutMs -1, no Assignment', () => {
    expect(defaultConsumerGroupHeartbeatRequest()).toMatchObject({ instanceId: null, rebalanceTimeoutMs: -1, subscribedTopicNames: null, topicPartitions: null });
    expect(defaultConsumerGroupHeartbeatResponse().assignment).toBeNull();
  });

  it.each([0, 1])('round-trips ConsumerGroupHeartbeat v%i, with a null and a present Assignment', (version) => {
    roundTrip(encodeConsumerGroupHeartbeatRequest, decodeConsumerGroupHeartbeatRequest, heartbeatRequest(version), version);
    roundTrip(encodeConsumerGroupHeartbeatRequest, decodeConsumerGroupHeartbeatRequest, defaultConsumerGroupHeartbeatRequest(), version);
    const present = roundTrip(encodeConsumerGroupHeartbeatResponse, decodeConsumerGroupHeartbeatResponse, heartbeatResponse(true), version);
    const absent = roundTrip(encodeConsumerGroupHeartbeatResponse, decodeConsumerGroupHeartbeatResponse, heartbeatResponse(false), version);
    // Same fields before the marker; then 1 + the struct, or -1 alone; then the tag buffer.
    expect(absent.subarray(0, -2)).toEqual(present.subarray(0, absent.length - 2));
    expect(absent.subarray(-2)).toEqual(hex('ff 00'));
    expect(present[absent.length - 2]).toBe(0x01);
    const empty = { ...heartbeatResponse(true), assignment: { topicPartitions: [] } };
    expect(roundTrip(encodeConsumerGroupHeartbeatResponse, decodeConsumerGroupHeartbeatResponse, empty, version).subarray(-4)).toEqual(hex('01 01 00 00'));
  });

  it('round-trips ConsumerGroupDescribe v0', () => {
    const request: ConsumerGroupDescribeRequest = { groupIds: ['g', 'h'], includeAuthorizedOperations: true };
    roundTrip(encodeConsumerGroupDescribeRequest, decodeConsumerGroupDescribeRequest, request, 0);
    roundTrip(encodeConsumerGroupDescribeResponse, decodeConsumerGroupDescribeResponse, describeResponse, 0);
  });

  it('ConsumerGroupHeartbeat v0 request, byte for byte', () => {
    const body = hex(
      `02 ${ascii('g')}` + // groupId: compact string, length + 1
        `02 ${ascii('m')}` + // memberId
        '00000000' + // memberEpoch 0 (join)
        '00' + // instanceId null (compact nullable: 0)
        `02 ${ascii('r')}` + // rackId "r"
        '000493e0' + // rebalanceTimeoutMs 300000
        `02 02 ${ascii('t')}` + // subscribedTopicNames: 1 name, "t" (no subscribedTopicRegex in v0)
        '00' + // serverAssignor null
        '02' + // topicPartitions: 1 element
        TOPIC_ID_HEX + //   topicId
        '03 00000000 00000001' + //   partitions: 2 int32s
        '00' + //   element tag buffer
        '00', // message tag buffer
    );
    expect(bytesOf(encodeConsumerGroupHeartbeatRequest, heartbeatRequest(0), 0)).toEqual(body);
    expect(decodeConsumerGroupHeartbeatRequest(new Reader(body), 0)).toEqual(heartbeatRequest(0));
  });

  it('ConsumerGroupHeartbeat v1 request: SubscribedTopicRegex after SubscribedTopicNames', () => {
    const msg = { ...heartbeatRequest(1), subscribedTopicNames: null, serverAssignor: 'uniform', topicPartitions: null };
    const body = hex(
      `02 ${ascii('g')} 02 ${ascii('m')} 00000000 00 02 ${ascii('r')} 000493e0` + // as in v0
        '00' + // subscribedTopicNames null (compact nullable array: 0)
        `04 ${ascii('a.*')}` + // subscribedTopicRegex "a.*" (v1+)
        `08 ${ascii('uniform')}` + // serverAssignor
        '00' + // topicPartitions null
        '00', // message tag buffer
    );
    expect(bytesOf(encodeConsumerGroupHeartbeatRequest, msg, 1)).toEqual(body);
    expect(decodeConsumerGroupHeartbeatRequest(new Reader(body), 1)).toEqual(msg);
  });

  it('ConsumerGroupHeartbeat v0 response with an Assignment, byte for byte', () => {
    const body = hex(
      '00000000' + // throttleTimeMs
        '0000' + // errorCode
        '00' + // errorMessage null
        `02 ${ascii('m')}` + // memberId "m" (nullable)
        '00000001' + // memberEpoch 1
        '00001388' + // heartbeatIntervalMs 5000
        '01' + // Assignment: INT8 marker 1 = present
        '02' + //   topicPartitions: 1 element
        TOPIC_ID_HEX + //     topicId
        '02 00000002' + //     partitions [2]
        '00' + //     element tag buffer
        '00' + //   Assignment tag buffer
        '00', // message tag buffer
    );
    expect(bytesOf(encodeConsumerGroupHeartbeatResponse, heartbeatResponse(true), 0)).toEqual(body);
    expect(decodeConsumerGroupHeartbeatResponse(new Reader(body), 0)).toEqual(heartbeatResponse(true));
  });

  it('ConsumerGroupHeartbeat v1 error response with a null Assignment, byte for byte', () => {
    const msg = { ...heartbeatResponse(false), errorCode: 25, errorMessage: 'gone', memberId: null, memberEpoch: -1 };
    const body = hex(
      '00000000' + // throttleTimeMs
        '0019' + // errorCode 25 (UNKNOWN_MEMBER_ID)
        `05 ${ascii('gone')}` + // errorMessage
        '00' + // memberId null
        'ffffffff' + // memberEpoch -1
        '00001388' + // heartbeatIntervalMs 5000
        'ff' + // Assignment: INT8 marker -1 = null, nothing follows
        '00', // message tag buffer
    );
    expect(bytesOf(encodeConsumerGroupHeartbeatResponse, msg, 1)).toEqual(body);
    expect(decodeConsumerGroupHeartbeatResponse(new Reader(body), 1)).toEqual(msg);
  });

  it('reads any negative Assignment marker as null; a present marker needs its struct', () => {
    const head = `00000000 0000 00 02 ${ascii('m')} 00000001 00001388`;
    expect(decodeConsumerGroupHeartbeatResponse(new Reader(hex(`${head} 80 00`)), 1).assignment).toBeNull();
    expect(() => decodeConsumerGroupHeartbeatResponse(new Reader(hex(`${head} 01 00`)), 1)).toThrow(ProtocolError);
    expect(() => decodeConsumerGroupHeartbeatResponse(new Reader(hex(head)), 1)).toThrow(ProtocolError);
  });

  it('ConsumerGroupDescribe v0 request, byte for byte', () => {
    const body = hex(`03 02 ${ascii('g')} 02 ${ascii('h')}` + '01' + '00'); // groupIds ["g","h"], includeAuthorizedOperations, tags
    const request = { groupIds: ['g', 'h'], includeAuthorizedOperations: true };
    expect(bytesOf(encodeConsumerGroupDescribeRequest, request, 0)).toEqual(body);
    expect(decodeConsumerGroupDescribeRequest(new Reader(body), 0)).toEqual(request);
  });

  it('ConsumerGroupDescribe v0 response: Assignment structs are not nullable, so no marker', () => {
    const body = hex(
      '00000000' + // throttleTimeMs
        '02' + // groups: 1
        '0000' + //   errorCode
        '00' + //   errorMessage null
        `02 ${ascii('g')}` + //   groupId
        `07 ${ascii('Stable')}` + //   groupState
        '00000003' + //   groupEpoch
        '00000003' + //   assignmentEpoch
        `08 ${ascii('uniform')}` + //   assignorName
        '02' + //   members: 1
        `02 ${ascii('m')}` + //     memberId
        '00' + //     instanceId null
        '00' + //     rackId null
        '00000003' + //     memberEpoch
        `02 ${ascii('c')}` + //     clientId
        `03 ${ascii('/h')}` + //     clientHost
        `02 02 ${ascii('t')}` + //     subscribedTopicNames ["t"]
        '00' + //     subscribedTopicRegex null
        '02' + //     assignment (no marker): topicPartitions: 1
        TOPIC_ID_HEX + //       topicId
        `02 ${ascii('t')}` + //       topicName
        '02 00000000' + //       partitions [0]
        '00' + //       topic-partitions tag buffer
        '00' + //     assignment tag buffer
        '01 00' + //     targetAssignment: topicPartitions empty, tag buffer
        '00' + //     member tag buffer
        '80000000' + //   authorizedOperations -2^31 (not requested)
        '00' + //   group tag buffer
        '00', // message tag buffer
    );
    expect(bytesOf(encodeConsumerGroupDescribeResponse, describeResponse, 0)).toEqual(body);
    expect(decodeConsumerGroupDescribeResponse(new Reader(body), 0)).toEqual(describeResponse);
  });
});
