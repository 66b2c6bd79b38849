// The codecs over declared data kinds: every kind round-trips in every format, the layout follows
// the declaration (CSV columns, XML elements, scalar types), and corrupt batches lose only their
// bad lines.
import { describe, expect, it } from 'vitest';
import {
  CodecError,
  csvHeader,
  DATA_FORMATS,
  decodeBatch,
  decodeRecord,
  encodeBatch,
  encodeRecord,
  layoutOf,
  xmlElementOf,
  type DataFormat,
} from '../../../systems/codecs/index.ts';
import { codecFor } from '../../../systems/legacy/common.ts';
import { RecordKinds } from '../../../systems/model/kinds.ts';
import { loadTopology } from '../../../systems/topology/index.ts';
import { AWKWARD, SAMPLE_DATA_KINDS, sampleKinds, sampleRecords } from './samples.ts';

const kind = (id: string) => sampleKinds.get(id);
const SAMPLES_PER_KIND = 12;
const samples = new Map(sampleKinds.ids().map((id) => [id, sampleRecords(id, SAMPLES_PER_KIND)]));
const cases = sampleKinds.ids().flatMap((id) => DATA_FORMATS.map((format) => [id, format] as const));

describe('codecs round-trip every kind in every format', () => {
  it('has valid samples of every kind', () => {
    for (const [id, records] of samples) for (const r of records) expect(sampleKinds.problem(id, r), id).toBeUndefined();
  });

  it.each(cases)('%s as %s: single records', (id, format) => {
    for (const r of samples.get(id)!) expect(decodeRecord(kind(id), format, encodeRecord(kind(id), format, r))).toEqual(r);
  });

  it.each(cases)('%s as %s: batches, including an empty one', (id, format) => {
    const decoded = decodeBatch(kind(id), format, encodeBatch(kind(id), format, samples.get(id)!));
    expect(decoded.bad).toEqual([]);
    expect(decoded.records).toEqual(samples.get(id));
    expect(decodeBatch(kind(id), format, encodeBatch(kind(id), format, []))).toEqual({ records: [], bad: [] });
  });

  it.each(DATA_FORMATS)('awkward text and numbers survive %s', (format) => {
    for (const [id, records] of Object.entries(AWKWARD)) {
      const decoded = decodeBatch(kind(id), format, encodeBatch(kind(id), format, records));
      expect(decoded.bad, id).toEqual([]);
      expect(decoded.records, id).toEqual(records);
    }
  });

  it('refuses to encode an invalid record, naming the field', () => {
    const bad = { ...samples.get('payment')![0], amountCents: 1.5 };
    for (const format of DATA_FORMATS) expect(() => encodeRecord(kind('payment'), format, bad)).toThrow(/amountCents/);
    expect(() => encodeRecord(kind('payment'), 'json', { ...bad, amountCents: 1, status: 'maybe' })).toThrow(CodecError);
  });
});

describe('the sample kinds', () => {
  it('declare the shop\'s data kinds as scenarios/topologies/shop.yaml does', () => {
    const shop = loadTopology(new URL('../../../scenarios/topologies/shop.yaml', import.meta.url).pathname);
    const declared = ({ id, key, identity, fields, payload }: (typeof SAMPLE_DATA_KINDS)[number]) => ({ id, key, identity, fields, payload });
    for (const k of shop.dataKinds) expect(SAMPLE_DATA_KINDS.map(declared).find((s) => s.id === k.id), k.id).toEqual(declared(k));
  });
});

describe('the layout follows the declaration', () => {
  it('CSV: the declared fields in order, padding last, lists flattened as sku:qty:price|…', () => {
    expect(csvHeader(kind('order'))).toBe('orderId,customerId,createdAtMs,items,totalCents,currency,country,email');
    expect(csvHeader(kind('stock-level'))).toBe('sku,warehouse,available,inStock,fillRatio,padding');
    const order = samples.get('order')!.find((o) => (o.items as unknown[]).length > 1)!;
    const items = order.items as { sku: string; qty: number; unitPriceCents: number }[];
    expect(encodeRecord(kind('order'), 'csv', order)).toContain(items.map((i) => `${i.sku}:${i.qty}:${i.unitPriceCents}`).join('|'));
  });

  it('XML: the kind id in camelCase, one element per field, list entries as <item>', () => {
    expect(xmlElementOf('risk-score')).toBe('riskScore');
    expect(xmlElementOf('a-b2-c')).toBe('aB2C');
    expect(layoutOf(kind('risk-score')).element).toBe('riskScore');
    expect(encodeRecord(kind('risk-score'), 'xml', { orderId: 'o-1', source: 'order', score: 7, verdict: 'approve' }))
      .toBe('<riskScore><orderId>o-1</orderId><source>order</source><score>7</score><verdict>approve</verdict></riskScore>');
    expect(encodeRecord(kind('reservation'), 'xml', { orderId: 'o-1', reservationId: 'r', warehouse: 'w', lines: [{ sku: 'A', qty: 2 }] }))
      .toContain('<lines><item><sku>A</sku><qty>2</qty></item></lines>');
    const batch = encodeBatch(kind('risk-score'), 'xml', samples.get('risk-score')!.slice(0, 2)).toString('utf8');
    expect(batch.split('\n')[1]).toBe('<records kind="risk-score" count="2">');
  });

  it('parses text by the declared type: int, number, bool, and enums and strings as text', () => {
    const row = (inStock: string, available: string) => `S,W,${available},${inStock},0.25,`;
    expect(decodeRecord(kind('stock-level'), 'csv', row('true', '3'))).toEqual({ sku: 'S', warehouse: 'W', available: 3, inStock: true, fillRatio: 0.25, padding: '' });
    expect(decodeRecord(kind('stock-level'), 'csv', row('false', '-0'))).toMatchObject({ inStock: false });
    expect(() => decodeRecord(kind('stock-level'), 'csv', row('yes', '3'))).toThrow(/inStock/);
    expect(() => decodeRecord(kind('stock-level'), 'csv', row('TRUE', '3'))).toThrow(/inStock/);
    expect(() => decodeRecord(kind('stock-level'), 'csv', row('true', '2.5'))).toThrow(/available: must be a whole number/);
    expect(() => decodeRecord(kind('stock-level'), 'xml', '<stockLevel><sku>S</sku><warehouse>W</warehouse><available>x1</available><inStock>true</inStock><fillRatio>1</fillRatio><padding></padding></stockLevel>'))
      .toThrow(/available/);
    expect(() => decodeRecord(kind('payment'), 'csv', 'o-1,p-1,100,card,refunded')).toThrow(/status/);
    expect(decodeRecord(kind('notification'), 'csv', '12,order,true,1e3')).toEqual({ orderId: '12', trigger: 'order', channel: 'true', template: '1e3' });
  });

  it('builds the layout of any declared kind, not only the shop\'s', () => {
    const kinds = new RecordKinds({
      dataKinds: [{
        id: 'sensor-reading', key: 'sensor', identity: ['sensor', 'atMs'],
        fields: [
          { name: 'sensor', spec: { type: 'string' } },
          { name: 'atMs', spec: { type: 'int' } },
          { name: 'ok', spec: { type: 'bool' } },
          { name: 'samples', spec: { type: 'list', fields: [{ name: 'v', spec: { type: 'number' } }, { name: 'good', spec: { type: 'bool' } }], min: 0, max: 3 } },
        ],
      }],
    });
    const k = kinds.get('sensor-reading');
    const records = [
      { sensor: 's1', atMs: 5, ok: true, samples: [{ v: 0.5, good: true }, { v: -1, good: false }] },
      { sensor: 's2', atMs: 6, ok: false, samples: [] },
    ];
    expect(csvHeader(k)).toBe('sensor,atMs,ok,samples');
    expect(encodeRecord(k, 'csv', records[0])).toBe('s1,5,true,0.5:true|-1:false');
    expect(encodeRecord(k, 'xml', records[1])).toBe('<sensorReading><sensor>s2</sensor><atMs>6</atMs><ok>false</ok><samples></samples></sensorReading>');
    for (const format of DATA_FORMATS) expect(decodeBatch(k, format, encodeBatch(k, format, records))).toEqual({ records, bad: [] });
  });
});

describe('corrupt batches: bad lines are reported, the others kept', () => {
  const shipment = kind('shipment');
  const records = samples.get('shipment')!.slice(0, 5);

  function corrupt(format: DataFormat, lineNo: number, replace: (line: string) => string): Buffer {
    const lines = encodeBatch(shipment, format, records).toString('utf8').split('\n');
    lines[lineNo - 1] = replace(lines[lineNo - 1]);
    return Buffer.from(lines.join('\n'));
  }

  // Line 4 holds the third record in every format (json: "[" first; csv: header; xml: declaration + <records>).
  const lineOfThird: Record<string, number> = { json: 4, csv: 4, xml: 5 };

  it.each(DATA_FORMATS)('%s: a garbled line', (format) => {
    const n = lineOfThird[format];
    const d = decodeBatch(shipment, format, corrupt(format, n, (l) => l.slice(0, 17) + '\u0007#<>"' + l.slice(25)));
    expect(d.records).toEqual([records[0], records[1], records[3], records[4]]);
    expect(d.bad).toHaveLength(1);
    expect(d.bad[0].line).toBe(n);
    expect(d.bad[0].reason.length).toBeGreaterThan(5);
  });

  it.each(DATA_FORMATS)('%s: a well-formed line with an invalid record', (format) => {
    const n = lineOfThird[format];
    const d = decodeBatch(shipment, format, corrupt(format, n, () => encodeRecord(shipment, format, records[2]).replace(/(parcels\W+)\d+/, (_m, p: string) => `${p}2.5`).replace(/,\d+$/, ',2.5')));
    expect(d.records).toHaveLength(4);
    expect(d.bad).toMatchObject([{ line: n, reason: expect.stringContaining('parcels') }]);
  });

  it.each(DATA_FORMATS)('%s: invalid UTF-8 on one line', (format) => {
    const buf = encodeBatch(shipment, format, records);
    const at = buf.indexOf(Buffer.from(records[2].shipmentId as string)) + 2;
    buf[at] = 0xff;
    const d = decodeBatch(shipment, format, buf);
    expect(d.records).toHaveLength(4);
    expect(d.bad).toMatchObject([{ line: lineOfThird[format], reason: 'not valid UTF-8' }]);
  });

  it('a cut-short batch is reported (json, xml) and keeps what is whole', () => {
    for (const format of ['json', 'xml'] as const) {
      const buf = encodeBatch(shipment, format, records);
      const cut = buf.subarray(0, buf.indexOf(Buffer.from(records[3].shipmentId as string)));
      const d = decodeBatch(shipment, format, cut);
      expect(d.records).toEqual(records.slice(0, 3));
      expect(d.bad.map((b) => b.reason).join(' ')).toMatch(/cut short/);
    }
  });

  it('xml: a missing line is caught by the declared count', () => {
    const lines = encodeBatch(shipment, 'xml', records).toString('utf8').split('\n');
    lines.splice(3, 1);
    const d = decodeBatch(shipment, 'xml', lines.join('\n'));
    expect(d.records).toHaveLength(4);
    expect(d.bad).toMatchObject([{ line: 2, reason: 'batch declares 5 records but holds 4' }]);
  });

  it('csv: wrong column count, unclosed quote, and a missing header', () => {
    const lines = encodeBatch(shipment, 'csv', records).toString('utf8').split('\n');
    lines[2] = lines[2] + ',extra';
    lines[3] = '"' + lines[3];
    const d = decodeBatch(shipment, 'csv', lines.join('\n'));
    expect(d.records).toEqual([records[0], records[3], records[4]]);
    expect(d.bad.map((b) => b.line)).toEqual([3, 4]);
    expect(d.bad[0].reason).toMatch(/expected 6 columns/);
    expect(d.bad[1].reason).toMatch(/quote/);
    const headless = decodeBatch(shipment, 'csv', lines.slice(1).join('\n').replace(',extra', '').replace(/^"/m, ''));
    expect(headless.bad).toEqual([]);
    expect(headless.records).toEqual(records);
  });

  it('csv: a list entry with the wrong number of parts names the field', () => {
    const line = encodeRecord(kind('reservation'), 'csv', samples.get('reservation')![0]).replace(/,([^,]*)$/, ',A:1:2');
    expect(() => decodeRecord(kind('reservation'), 'csv', line)).toThrow(/lines\.0: expected sku:qty/);
  });

  it('json: also reads JSON Lines and a one-line array, element by element', () => {
    const jsonl = records.map((r) => JSON.stringify(r)).join('\n');
    expect(decodeBatch(shipment, 'json', jsonl)).toEqual({ records, bad: [] });
    const oneLine = JSON.stringify([records[0], { ...records[1], parcels: 'two' }, records[2]]);
    const d = decodeBatch(shipment, 'json', oneLine);
    expect(d.records).toEqual([records[0], records[2]]);
    expect(d.bad).toMatchObject([{ line: 1, reason: expect.stringContaining('element 1') }]);
  });

  it('xml: refuses a batch of another kind and unsupported constructs', () => {
    const payment = kind('payment');
    const buf = encodeBatch(payment, 'xml', samples.get('payment')!.slice(0, 2));
    const d = decodeBatch(shipment, 'xml', buf);
    expect(d.records).toEqual([]);
    expect(d.bad.length).toBeGreaterThanOrEqual(3);
    expect(() => decodeRecord(payment, 'xml', '<payment orderId="x"></payment>')).toThrow(/attributes/);
    expect(() => decodeRecord(payment, 'xml', '<payment><!-- hi --></payment>')).toThrow(/unsupported/);
    expect(() => decodeRecord(payment, 'xml', '<payment><orderId>a</orderId><orderId>b</orderId></payment>')).toThrow(/repeated/);
    expect(() => decodeRecord(payment, 'xml', '<payment><orderId>a</orderId><refund>1</refund></payment>')).toThrow(/unexpected element <refund>/);
  });
});

describe('codecFor: the transports\' codec port over a landscape\'s kinds', () => {
  const codec = codecFor(sampleKinds);

  it('encodes and decodes by kind id', () => {
    const records = samples.get('invoice')!;
    for (const format of DATA_FORMATS) expect(codec.decodeBatch('invoice', format, codec.encodeBatch('invoice', format, records))).toEqual({ records, bad: [] });
  });

  it('a kind the landscape does not declare: encoding throws, decoding gives one bad entry', () => {
    expect(() => codec.encodeBatch('refund', 'json', [{}])).toThrow(/unknown data kind "refund"/);
    expect(codec.decodeBatch('refund', 'json', Buffer.from('[\n{}\n]\n'))).toMatchObject({ records: [], bad: [{ line: 0, reason: 'unknown data kind "refund"' }] });
  });
});
