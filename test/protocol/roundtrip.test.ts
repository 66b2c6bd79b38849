import { describe, expect, it } from 'vitest';
import { MESSAGE_DESCRIPTIONS } from '../../broker/protocol/generated/schemas.ts';
import { ProtocolError, Reader, Writer } from '../../broker/protocol/wire.ts';
import { codecOf, sampleMessage, versionsOf } from './sample.ts';

// Every generated message (all selected APIs' requests and responses, headers, consumer protocol)
// at every valid version: encode a sample with non-default values, decode it back, re-encode.
describe.each(MESSAGE_DESCRIPTIONS.map((m) => [m.name, m] as const))('%s', (name, message) => {
  const { decode, encode } = codecOf(name);

  it.each(versionsOf(message))('round-trips v%i', (version) => {
    for (const mode of ['values', 'nulls'] as const) {
      const { input, expected } = sampleMessage(message, version, mode);
      const w = new Writer();
      encode(w, input, version);
      const bytes = w.toBuffer();

      const r = new Reader(bytes);
      const decoded = decode(r, version);
      expect(decoded).toEqual(expected);
      expect(r.remaining).toBe(0);

      encode(w, decoded, version);
      expect(w.toBuffer().equals(bytes)).toBe(true);

      // Every strict prefix is a truncated message: ProtocolError, never RangeError or a bad value.
      for (let length = 0; length < bytes.length; length++) {
        const prefix = new Reader(bytes.subarray(0, length));
        expect(() => decode(prefix, version), `${name} v${version} cut at ${length}/${bytes.length}`).toThrow(ProtocolError);
      }
    }
  });

  it('rejects versions outside the valid range', () => {
    const [min, max] = message.validVersions;
    expect(() => decode(new Reader(Buffer.alloc(64)), max + 1)).toThrow(ProtocolError);
    expect(() => decode(new Reader(Buffer.alloc(64)), min - 1)).toThrow(ProtocolError);
    expect(() => encode(new Writer(), sampleMessage(message, max, 'values').input, max + 1)).toThrow(RangeError);
  });
});
