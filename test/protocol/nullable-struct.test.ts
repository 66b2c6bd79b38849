// Nullable struct fields in the generator, on a test schema shaped like Kafka's own
// NullableStructMessage (generator tests): nullable in every version, nullable only from v1, and
// tagged nullable structs with a null and a struct default; plus one nullable from v2 only, inside
// the flexible versions 1-2, so the marker itself depends on the version. The schema is generated into a
// temporary module and run; the expected bytes follow Kafka's MessageDataGenerator: an INT8
// marker before a regular field (-1 null, 1 present), an unsigned varint 0/1 inside a tagged field.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emitMessagesModule } from '../../broker/protocol/generator/emit-modules.ts';
import { loadMessage } from '../../broker/protocol/generator/schema.ts';
import { ProtocolError, Reader, Writer } from '../../broker/protocol/wire.ts';

const myStruct = (name: string): object => ({
  name,
  type: name,
  versions: '0+',
  fields: [
    { name: 'MyString', type: 'string', versions: '0+' },
    { name: 'MyInt', type: 'int32', versions: '0+' },
  ],
});

const SCHEMA = {
  type: 'data',
  name: 'NullableStructTestMessage',
  validVersions: '0-2',
  flexibleVersions: '1+',
  fields: [
    { ...myStruct('MyStruct'), name: 'NullableStruct', nullableVersions: '0+', default: 'null' },
    { ...myStruct('MyStruct2'), name: 'NullableStruct2', nullableVersions: '1+' },
    { ...myStruct('MyStruct3'), name: 'NullableStruct3', versions: '1+', nullableVersions: '1+', taggedVersions: '1+', tag: 0, default: 'null' },
    { ...myStruct('MyStruct4'), name: 'NullableStruct4', versions: '1+', nullableVersions: '1+', taggedVersions: '1+', tag: 1 },
    { ...myStruct('MyStruct5'), name: 'NullableStruct5', nullableVersions: '2+' },
  ],
};

interface My { myString: string; myInt: number }
interface Message {
  nullableStruct: My | null;
  nullableStruct2: My | null;
  nullableStruct3: My | null;
  nullableStruct4: My | null;
  nullableStruct5: My | null;
}
interface Module {
  decodeNullableStructTestMessage(r: Reader, version: number): Message;
  encodeNullableStructTestMessage(w: Writer, msg: Message, version: number): void;
  defaultNullableStructTestMessage(): Message;
}

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

const my = (n: number): My => ({ myString: String(n), myInt: n });

let dir = '';
let mod: Module;
let source = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nullable-struct-'));
  writeFileSync(join(dir, `${SCHEMA.name}.json`), JSON.stringify(SCHEMA));
  const wire = fileURLToPath(new URL('../../broker/protocol/wire.ts', import.meta.url));
  source = emitMessagesModule([loadMessage(dir, SCHEMA.name)]);
  writeFileSync(join(dir, 'module.ts'), source.replace("from '../wire.ts'", `from ${JSON.stringify(wire)}`));
  mod = (await import(pathToFileURL(join(dir, 'module.ts')).href)) as Module;
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function encode(msg: Message, version: number): Buffer {
  const w = new Writer();
  mod.encodeNullableStructTestMessage(w, msg, version);
  return w.toBuffer();
}

function decode(bytes: Buffer, version: number): Message {
  const r = new Reader(bytes);
  const msg = mod.decodeNullableStructTestMessage(r, version);
  expect(r.remaining).toBe(0);
  return msg;
}

describe('nullable struct fields', () => {
  it('types them Struct | null and defaults them to null only where the schema says "null"', () => {
    expect(source).toContain('nullableStruct: NullableStructTestMessageNullableStruct | null;');
    expect(source).toContain('nullableStruct2: NullableStructTestMessageNullableStruct2 | null;');
    expect(mod.defaultNullableStructTestMessage()).toEqual({
      nullableStruct: null,
      nullableStruct2: { myString: '', myInt: 0 },
      nullableStruct3: null,
      nullableStruct4: { myString: '', myInt: 0 },
      nullableStruct5: { myString: '', myInt: 0 },
    });
  });

  it('v2 (flexible), all present: INT8 markers on regular fields, varint markers in tagged fields', () => {
    const msg = { nullableStruct: my(1), nullableStruct2: my(2), nullableStruct3: my(3), nullableStruct4: my(4), nullableStruct5: my(5) };
    const bytes = hex(
      '01' + // nullableStruct: INT8 marker 1 = present
        '02 31 00000001 00' + //   compact string "1", int32 1, struct tag buffer
        '01' + // nullableStruct2: marker (nullable in v1+)
        '02 32 00000002 00' +
        '01' + // nullableStruct5: marker (nullable in v2+)
        '02 35 00000005 00' +
        '02' + // tag buffer: 2 tagged fields, ascending tags
        '00 08' + //   tag 0 (nullableStruct3), size 8 = marker + 7-byte struct
        '01 02 33 00000003 00' + //   varint marker 1 = present, then the struct
        '01 08' + //   tag 1 (nullableStruct4), size 8
        '01 02 34 00000004 00',
    );
    expect(encode(msg, 2)).toEqual(bytes);
    expect(decode(bytes, 2)).toEqual(msg);
  });

  it('v2, all null: -1 markers; a null tagged field is written only when its default is not null', () => {
    const msg = { nullableStruct: null, nullableStruct2: null, nullableStruct3: null, nullableStruct4: null, nullableStruct5: null };
    const bytes = hex(
      'ff' + // nullableStruct: INT8 -1 = null
        'ff' + // nullableStruct2: null
        'ff' + // nullableStruct5: null
        '01' + // one tagged field: nullableStruct3 is null = its default, not written
        '01 01 00', // tag 1 (nullableStruct4), size 1, varint marker 0 = null
    );
    expect(encode(msg, 2)).toEqual(bytes);
    expect(decode(bytes, 2)).toEqual(msg);
    // At their defaults (null, struct) neither tagged field is written.
    expect(encode({ ...msg, nullableStruct4: { myString: '', myInt: 0 } }, 2).subarray(3)).toEqual(hex('00'));
  });

  it('v1: a field nullable from v2 has no marker yet, and may not be null', () => {
    const msg = { nullableStruct: my(1), nullableStruct2: null, nullableStruct3: null, nullableStruct4: my(0), nullableStruct5: my(5) };
    const bytes = hex(
      '01 02 31 00000001 00' + // nullableStruct: marker 1, struct
        'ff' + // nullableStruct2: null (nullable in v1+)
        '02 35 00000005 00' + // nullableStruct5: the struct alone, no marker in v1
        '01' + // one tagged field: nullableStruct4 differs from its default
        '01 08 01 02 30 00000000 00', //   tag 1, size 8, varint marker 1, struct "0", 0
    );
    expect(encode(msg, 1)).toEqual(bytes);
    expect(decode(bytes, 1)).toEqual(msg);
    expect(() => encode({ ...msg, nullableStruct5: null }, 1)).toThrow('NullableStructTestMessage.nullableStruct5 must not be null in version 1');
    expect(encode({ ...msg, nullableStruct5: null }, 2)).toEqual(hex('01 02 31 00000001 00 ff ff 01 01 08 01 02 30 00000000 00'));
  });

  it('v0 (classic): the marker only in nullable versions; null where not nullable is an error', () => {
    const msg = { nullableStruct: my(1), nullableStruct2: my(2), nullableStruct3: null, nullableStruct4: null, nullableStruct5: my(5) };
    const bytes = hex(
      '01 0001 31 00000001' + // nullableStruct: marker 1, int16-length string "1", int32 1
        '0001 32 00000002' + // nullableStruct2: not nullable in v0, so no marker
        '0001 35 00000005', // nullableStruct5: no marker
    );
    expect(encode(msg, 0)).toEqual(bytes);
    expect(decode(bytes, 0)).toEqual({ ...msg, nullableStruct4: { myString: '', myInt: 0 } });
    expect(encode({ ...msg, nullableStruct: null }, 0)).toEqual(hex('ff 0001 32 00000002 0001 35 00000005'));
    expect(() => encode({ ...msg, nullableStruct2: null }, 0)).toThrow(
      'NullableStructTestMessage.nullableStruct2 must not be null in version 0',
    );
  });

  it('reads any negative INT8 marker as null and any other as present, as Kafka does', () => {
    const struct5 = '02 35 00000005 00';
    expect(decode(hex(`80 ff ${struct5} 00`), 1).nullableStruct).toBeNull();
    expect(decode(hex(`ff ff fe 00`), 2).nullableStruct5).toBeNull();
    const zeroMarker = decode(hex(`00 02 31 00000001 00 ff ${struct5} 00`), 1);
    expect(zeroMarker.nullableStruct).toEqual(my(1));
    expect(decode(hex('ff ff 7f 02 35 00000005 00 00'), 2).nullableStruct5).toEqual(my(5));
    expect(() => decode(hex(''), 1)).toThrow(ProtocolError);
    // A tagged marker must fit its tagged field: a present marker with no struct is truncated.
    expect(() => decode(hex(`ff ff ${struct5} 01 00 01 01`), 1)).toThrow(ProtocolError);
  });
});

describe('nullable struct schema checks', () => {
  const load = (field: object): string => {
    const schemaDir = mkdtempSync(join(tmpdir(), 'nullable-struct-bad-'));
    try {
      const schema = { type: 'data', name: 'BadStructMessage', validVersions: '0', flexibleVersions: '0+', fields: [field] };
      writeFileSync(join(schemaDir, 'BadStructMessage.json'), JSON.stringify(schema));
      return emitMessagesModule([loadMessage(schemaDir, 'BadStructMessage')]);
    } finally {
      rmSync(schemaDir, { recursive: true, force: true });
    }
  };

  it('accepts only a null struct default, and only on a nullable field', () => {
    expect(load({ ...myStruct('S'), name: 'S', nullableVersions: '0+', default: 'null' })).toContain('s: BadStructMessageS | null;');
    expect(() => load({ ...myStruct('S'), name: 'S', nullableVersions: '0+', default: '{}' })).toThrow(/only takes the default "null"/);
    expect(() => load({ ...myStruct('S'), name: 'S', default: 'null' })).toThrow(/default null on a non-nullable field/);
  });
});
