import { describe, expect, it } from 'vitest';
import {
  decodeRequestHeader,
  decodeResponseFrame,
  encodeRequest,
  encodeResponse,
  requestHeaderVersion,
  responseHeaderVersion,
} from '../../broker/protocol/frame.ts';
import * as generated from '../../broker/protocol/generated/index.ts';
import {
  ApiKey,
  API_SCHEMAS,
  defaultFetchResponse,
  defaultFetchResponsePartitions,
  defaultFetchResponseResponses,
  defaultHeartbeatResponse,
  defaultMetadataResponse,
  type FetchResponse,
} from '../../broker/protocol/generated/index.ts';
import { ProtocolError, Reader } from '../../broker/protocol/wire.ts';

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

describe('request headers', () => {
  it('uses header v2 exactly for flexible versions of known APIs', () => {
    expect(requestHeaderVersion(ApiKey.ApiVersions, 2)).toBe(1);
    expect(requestHeaderVersion(ApiKey.ApiVersions, 3)).toBe(2);
    expect(requestHeaderVersion(ApiKey.ApiVersions, 99)).toBe(2); // unsupported but still flexible, as in Kafka
    expect(requestHeaderVersion(ApiKey.Fetch, 11)).toBe(1);
    expect(requestHeaderVersion(ApiKey.Fetch, 12)).toBe(2);
    expect(requestHeaderVersion(999, 5)).toBe(1);
  });

  it('reads a v1 header and leaves the reader at the body', () => {
    const r = new Reader(hex('0003 0004 0000002a 0002 6b6a ffffffff 01'));
    expect(decodeRequestHeader(r)).toEqual({ apiKey: 3, apiVersion: 4, correlationId: 42, clientId: 'kj', headerVersion: 1 });
    expect(r.offset).toBe(12);
  });

  it('reads a v2 header, skipping unknown header tags', () => {
    const r = new Reader(hex('0009 0007 00000005 ffff 01 00 02 abcd  00'));
    expect(decodeRequestHeader(r)).toEqual({ apiKey: 9, apiVersion: 7, correlationId: 5, clientId: null, headerVersion: 2 });
    expect(r.remaining).toBe(1);
  });

  it('reads correlation id and client id of unknown API keys (header v1)', () => {
    const r = new Reader(hex('03e7 0000 00000063 0001 78 0102'));
    expect(decodeRequestHeader(r)).toEqual({ apiKey: 999, apiVersion: 0, correlationId: 99, clientId: 'x', headerVersion: 1 });
  });

  it('throws ProtocolError for truncated headers at every length', () => {
    const header = hex('0012 0003 00000001 0007 72646b61666b61 00');
    for (let length = 0; length < header.length; length++) {
      expect(() => decodeRequestHeader(new Reader(header.subarray(0, length)))).toThrow(ProtocolError);
    }
  });
});

describe('response frames', () => {
  it('chooses response header v1 for flexible versions, v0 otherwise and for ApiVersions', () => {
    expect(responseHeaderVersion(ApiKey.Metadata, 8)).toBe(0);
    expect(responseHeaderVersion(ApiKey.Metadata, 9)).toBe(1);
    expect(responseHeaderVersion(ApiKey.ApiVersions, 3)).toBe(0);
    const v8 = Buffer.concat(encodeResponse(ApiKey.Metadata, 8, 1, defaultMetadataResponse()));
    const v9 = Buffer.concat(encodeResponse(ApiKey.Metadata, 9, 1, defaultMetadataResponse()));
    expect(v8.subarray(4, 8)).toEqual(hex('00000001'));
    expect(v9.subarray(4, 9)).toEqual(hex('00000001 00'));
    expect(v8.readInt32BE(0)).toBe(v8.length - 4);
    expect(v9.readInt32BE(0)).toBe(v9.length - 4);
  });

  it('passes a 1 MiB record set through by reference', () => {
    const records = Buffer.alloc(1024 * 1024, 0x42);
    const more = [Buffer.from('second-batch'), Buffer.from('third-batch')];
    const response: FetchResponse = {
      ...defaultFetchResponse(),
      responses: [
        {
          ...defaultFetchResponseResponses(),
          topic: 'orders',
          partitions: [
            { ...defaultFetchResponsePartitions(), partitionIndex: 0, highWatermark: 10, records },
            { ...defaultFetchResponsePartitions(), partitionIndex: 1, records: more },
          ],
        },
      ],
    };
    for (const version of [11, 12]) {
      const chunks = encodeResponse(ApiKey.Fetch, version, 77, response);
      // The very same Buffer objects, not copies.
      expect(chunks.includes(records)).toBe(true);
      expect(chunks.includes(more[0])).toBe(true);
      expect(chunks.includes(more[1])).toBe(true);
      const frame = Buffer.concat(chunks);
      expect(frame.readInt32BE(0)).toBe(frame.length - 4);
      const { correlationId, body } = decodeResponseFrame<FetchResponse<Buffer>>(ApiKey.Fetch, version, frame);
      expect(correlationId).toBe(77);
      const [first, second] = body.responses[0].partitions;
      expect(first.records !== null && records.equals(first.records)).toBe(true);
      expect(second.records !== null && Buffer.concat(more).equals(second.records)).toBe(true);
    }
  });

  it('keeps handed-out frames intact while later frames are encoded', () => {
    const first = encodeResponse(ApiKey.Heartbeat, 3, 1, { ...defaultHeartbeatResponse(), errorCode: 27 });
    const snapshot = Buffer.concat(first);
    for (let i = 0; i < 5000; i++) encodeResponse(ApiKey.Heartbeat, 3, i, defaultHeartbeatResponse());
    expect(Buffer.concat(first)).toEqual(snapshot);
  });

  it('recovers after an encode error', () => {
    expect(() => encodeResponse(ApiKey.Metadata, 4, 1, { brokers: null })).toThrow();
    expect(() => encodeResponse(ApiKey.Metadata, 99, 1, defaultMetadataResponse())).toThrow(RangeError);
    const frame = Buffer.concat(encodeResponse(ApiKey.Heartbeat, 0, 9, defaultHeartbeatResponse()));
    expect(frame).toEqual(hex('00000006 00000009 0000'));
  });

  it('rejects frames whose size prefix or length does not match', () => {
    const frame = Buffer.concat(encodeResponse(ApiKey.Heartbeat, 0, 9, defaultHeartbeatResponse()));
    expect(() => decodeResponseFrame(ApiKey.Heartbeat, 0, frame.subarray(0, frame.length - 1))).toThrow(ProtocolError);
    const padded = Buffer.concat([frame, hex('00')]);
    padded.writeInt32BE(padded.length - 4, 0);
    expect(() => decodeResponseFrame(ApiKey.Heartbeat, 0, padded)).toThrow(/1 bytes left/);
  });

  it('frames default-valued requests of every API at every version (header v1 or v2)', () => {
    const exports = generated as unknown as Record<string, () => object>;
    for (const schema of API_SCHEMAS.values()) {
      const body = exports[`default${schema.name}Request`]();
      for (let version = schema.minVersion; version <= schema.maxVersion; version++) {
        const frame = encodeRequest(schema.apiKey, version, 3, 'client', body);
        expect(frame.readInt32BE(0)).toBe(frame.length - 4);
        const r = new Reader(frame.subarray(4));
        const header = decodeRequestHeader(r);
        expect(header).toEqual({
          apiKey: schema.apiKey,
          apiVersion: version,
          correlationId: 3,
          clientId: 'client',
          headerVersion: version >= schema.firstFlexibleVersion ? 2 : 1,
        });
        expect(schema.decodeRequest(r, version), `${schema.name} v${version}`).toEqual(body);
        expect(r.remaining).toBe(0);
      }
    }
  });
});
