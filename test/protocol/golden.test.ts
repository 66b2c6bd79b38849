// Hand-computed encodings, byte for byte, checked against Kafka's wire format.
import { describe, expect, it } from 'vitest';
import { decodeRequestHeader, decodeResponseFrame, encodeApiVersionsUnsupported, encodeRequest, encodeResponse } from '../../broker/protocol/frame.ts';
import {
  ApiKey,
  decodeApiVersionsRequest,
  decodeMetadataRequest,
  decodeOffsetFetchResponse,
  defaultApiVersionsResponse,
  defaultMetadataRequestTopics,
  encodeMetadataRequest,
  encodeOffsetFetchResponse,
  encodeProduceRequest,
  type OffsetFetchResponse,
} from '../../broker/protocol/generated/index.ts';
import { Reader, Writer } from '../../broker/protocol/wire.ts';

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

function ascii(text: string): string {
  return Buffer.from(text).toString('hex');
}

describe('golden encodings', () => {
  it('ApiVersions v3 request as librdkafka sends it (request header v2, compact strings)', () => {
    const frame = encodeRequest(ApiKey.ApiVersions, 3, 1, 'rdkafka', {
      clientSoftwareName: 'librdkafka',
      clientSoftwareVersion: '2.0.2',
    });
    const expected = hex(
      '00000024' + // size 36
        '0012 0003 00000001' + // api key 18, version 3, correlation id 1
        `0007 ${ascii('rdkafka')}` + // client id: int16 string even in header v2
        '00' + // header tag buffer
        `0b ${ascii('librdkafka')}` + // compact string: length + 1
        `06 ${ascii('2.0.2')}` +
        '00', // body tag buffer
    );
    expect(frame).toEqual(expected);

    const r = new Reader(frame.subarray(4));
    expect(decodeRequestHeader(r)).toEqual({ apiKey: 18, apiVersion: 3, correlationId: 1, clientId: 'rdkafka', headerVersion: 2 });
    expect(decodeApiVersionsRequest(r, 3)).toEqual({ clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' });
    expect(r.remaining).toBe(0);
  });

  it('Metadata v4 request: null topics (all) differs from an empty list (none)', () => {
    const encode = (topics: string[] | null, allowAutoTopicCreation: boolean): Buffer => {
      const w = new Writer();
      const msg = {
        topics: topics === null ? null : topics.map((name) => ({ ...defaultMetadataRequestTopics(), name })),
        allowAutoTopicCreation,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      };
      encodeMetadataRequest(w, msg, 4);
      return w.toBuffer();
    };
    expect(encode(null, true)).toEqual(hex('ffffffff 01'));
    expect(encode([], true)).toEqual(hex('00000000 01'));
    expect(encode(['foo'], false)).toEqual(hex(`00000001 0003 ${ascii('foo')} 00`));

    expect(decodeMetadataRequest(new Reader(hex('ffffffff 01')), 4).topics).toBeNull();
    expect(decodeMetadataRequest(new Reader(hex('00000000 01')), 4).topics).toEqual([]);
    const one = decodeMetadataRequest(new Reader(hex(`00000001 0003 ${ascii('foo')} 00`)), 4);
    expect(one.topics?.map((t) => t.name)).toEqual(['foo']);
    expect(one.allowAutoTopicCreation).toBe(false);
  });

  const offsetFetchV7: OffsetFetchResponse = {
    throttleTimeMs: 0,
    topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, metadata: '', errorCode: 0 }] }],
    errorCode: 0,
    groups: [],
  };
  const offsetFetchV7Bytes = (partitionTags = '00', messageTags = '00'): string =>
    '00000000' + // throttle time
    '02' + // topics: compact array of 1
    '02 74' + //   name "t"
    '02' + //   partitions: 1
    '00000000' + //     partition index
    '0000000000000005' + //     committed offset
    'ffffffff' + //     committed leader epoch (v5+)
    '01' + //     metadata "" (compact nullable: length + 1)
    '0000' + //     error code
    partitionTags + //     partition tag buffer
    '00' + //   topic tag buffer
    '0000' + // top-level error code (v2-7)
    messageTags; // message tag buffer
  const offsetFetchV7Body = offsetFetchV7Bytes();

  it('flexible OffsetFetch v7 response with a tag buffer after every struct', () => {
    const w = new Writer();
    encodeOffsetFetchResponse(w, offsetFetchV7, 7);
    expect(w.toBuffer()).toEqual(hex(offsetFetchV7Body));

    // Framed: response header v1 = correlation id + empty tag buffer.
    const frame = Buffer.concat(encodeResponse(ApiKey.OffsetFetch, 7, 42, offsetFetchV7));
    expect(frame).toEqual(hex('00000025 0000002a 00' + offsetFetchV7Body));
    expect(decodeResponseFrame(ApiKey.OffsetFetch, 7, frame)).toEqual({ correlationId: 42, body: offsetFetchV7 });
  });

  it('skips unknown tags in any tag buffer', () => {
    // Partition tag buffer carries tag 5 (2 bytes); message tag buffer carries tag 9 (0 bytes).
    const withUnknownTags = offsetFetchV7Bytes('01 05 02 abcd', '01 09 00');
    const r = new Reader(hex(withUnknownTags));
    expect(decodeOffsetFetchResponse(r, 7)).toEqual(offsetFetchV7);
    expect(r.remaining).toBe(0);
  });

  it('ApiVersions v3 response keeps response header v0 and writes non-default tagged fields', () => {
    const body = {
      ...defaultApiVersionsResponse(),
      apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 3 }],
    };
    const frame = Buffer.concat(encodeResponse(ApiKey.ApiVersions, 3, 7, body));
    expect(frame).toEqual(hex('00000013 00000007 0000 02 0012 0000 0003 00 00000000 00'));

    const tagged = { ...body, finalizedFeaturesEpoch: 5, zkMigrationReady: true };
    const taggedFrame = Buffer.concat(encodeResponse(ApiKey.ApiVersions, 3, 7, tagged));
    // Two tags in ascending order: 1 (int64, 8 bytes) and 3 (bool, 1 byte).
    expect(taggedFrame).toEqual(hex('00000020 00000007 0000 02 0012 0000 0003 00 00000000 02 01 08 0000000000000005 03 01 01'));
    expect(decodeResponseFrame(ApiKey.ApiVersions, 3, taggedFrame).body).toEqual(tagged);
  });

  it('unsupported ApiVersions version: v0 body with error 35 and our range, header v0', () => {
    const frame = Buffer.concat(encodeApiVersionsUnsupported(7, { min: 0, max: 3 }));
    expect(frame).toEqual(hex('00000010 00000007 0023 00000001 0012 0000 0003'));
  });

  it('Produce v3 request with a null transactional id and a records blob', () => {
    const records = Buffer.from('BATCH');
    const w = new Writer();
    encodeProduceRequest(
      w,
      { transactionalId: null, acks: -1, timeoutMs: 30000, topicData: [{ name: 't', partitionData: [{ index: 2, records }] }] },
      3,
    );
    const chunks = w.toChunks();
    expect(chunks.includes(records)).toBe(true); // by reference
    expect(Buffer.concat(chunks)).toEqual(hex(`ffff ffff 00007530 00000001 0001 74 00000001 00000002 00000005 ${ascii('BATCH')}`));
  });
});
