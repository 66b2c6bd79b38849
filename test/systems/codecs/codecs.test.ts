import { describe, expect, it } from 'vitest';
import {
  CodecError,
  csvHeader,
  DATA_FORMATS,
  decodeBatch,
  decodeRecord,
  encodeBatch,
  encodeRecord,
} from '../../../systems/codecs/index.ts';
import { DATA_KINDS } from '../../../systems/domain/index.ts';
import { AWKWARD, samplesByKind } from './samples.ts';

const samples = samplesByKind();
const cases = DATA_KINDS.flatMap((kind) => DATA_FORMATS.map((format) => [kind, format] as const));

describe('codecs round-trip every kind in every format', () => {
  it('has samples of every kind', () => {
    for (const kind of DATA_KINDS) expect(samples[kind].length, kind).toBeGreaterThan(0);
  });

  it.each(cases)('%s as %s: single records', (kind, format) => {
    for (const r of samples[kind]) expect(decodeRecord(kind, format, encodeRecord(kind, format, r))).toEqual(r);
  });

  it.each(cases)('%s as %s: batches, including an empty one', (kind, format) => {
    const decoded = decodeBatch(kind, format, encodeBatch(kind, format, samples[kind]));
    expect(decoded.bad).toEqual([]);
    expect(decoded.records).toEqual(samples[kind]);
    expect(decodeBatch(kind, format, encodeBatch(kind, format, []))).toEqual({ records: [], bad: [] });
  });

  it.each(DATA_FORMATS)('awkward text and numbers survive %s', (format) => {
    for (const [kind, records] of Object.entries(AWKWARD) as [keyof typeof AWKWARD, (typeof AWKWARD)[keyof typeof AWKWARD]][]) {
      const decoded = decodeBatch(kind, format, encodeBatch(kind, format, records as never));
      expect(decoded.bad).toEqual([]);
      expect(decoded.records).toEqual(records);
    }
  });

  it('flattens nested lists in CSV as sku:qty:price|…', () => {
    const order = samples.order.find((o) => o.items.length > 1)!;
    const row = encodeRecord('order', 'csv', order);
    expect(row).toContain(order.items.map((i) => `${i.sku}:${i.qty}:${i.unitPriceCents}`).join('|'));
    expect(csvHeader('order')).toBe('orderId,customerId,createdAtMs,items,totalCents,currency,country,email');
  });

  it('refuses to encode an invalid record', () => {
    const bad = { ...samples.payment[0], amountCents: -5 };
    for (const format of DATA_FORMATS) expect(() => encodeRecord('payment', format, bad)).toThrow(CodecError);
  });
});

describe('corrupt batches: bad lines are reported, the others kept', () => {
  const records = samples.shipment.slice(0, 5);

  function corrupt(format: (typeof DATA_FORMATS)[number], lineNo: number, replace: (line: string) => string): Buffer {
    const lines = encodeBatch('shipment', format, records).toString('utf8').split('\n');
    lines[lineNo - 1] = replace(lines[lineNo - 1]);
    return Buffer.from(lines.join('\n'));
  }

  // Line 4 holds the third record in every format (json: "[" first; csv: header; xml: declaration + <records>).
  const lineOfThird: Record<string, number> = { json: 4, csv: 4, xml: 5 };

  it.each(DATA_FORMATS)('%s: a garbled line', (format) => {
    const n = lineOfThird[format];
    const d = decodeBatch('shipment', format, corrupt(format, n, (l) => l.slice(0, 17) + '\u0007#<>"' + l.slice(25)));
    expect(d.records).toEqual([records[0], records[1], records[3], records[4]]);
    expect(d.bad).toHaveLength(1);
    expect(d.bad[0].line).toBe(n);
    expect(d.bad[0].reason.length).toBeGreaterThan(5);
  });

  it.each(DATA_FORMATS)('%s: a well-formed line with an invalid record', (format) => {
    const n = lineOfThird[format];
    const d = decodeBatch('shipment', format, corrupt(format, n, () => encodeRecord('shipment', format, records[2]).replace(/(parcels\W+)\d+/, '$1-3').replace(/,\d+$/, ',-3')));
    expect(d.records).toHaveLength(4);
    expect(d.bad).toMatchObject([{ line: n, reason: expect.stringContaining('parcels') }]);
  });

  it.each(DATA_FORMATS)('%s: invalid UTF-8 on one line', (format) => {
    const buf = encodeBatch('shipment', format, records);
    const at = buf.indexOf(Buffer.from(records[2].shipmentId)) + 2;
    buf[at] = 0xff;
    const d = decodeBatch('shipment', format, buf);
    expect(d.records).toHaveLength(4);
    expect(d.bad).toMatchObject([{ line: lineOfThird[format], reason: 'not valid UTF-8' }]);
  });

  it('a cut-short batch is reported (json, xml) and keeps what is whole', () => {
    for (const format of ['json', 'xml'] as const) {
      const buf = encodeBatch('shipment', format, records);
      const cut = buf.subarray(0, buf.indexOf(Buffer.from(records[3].shipmentId)));
      const d = decodeBatch('shipment', format, cut);
      expect(d.records).toEqual(records.slice(0, 3));
      expect(d.bad.map((b) => b.reason).join(' ')).toMatch(/cut short/);
    }
  });

  it('xml: a missing line is caught by the declared count', () => {
    const lines = encodeBatch('shipment', 'xml', records).toString('utf8').split('\n');
    lines.splice(3, 1);
    const d = decodeBatch('shipment', 'xml', lines.join('\n'));
    expect(d.records).toHaveLength(4);
    expect(d.bad).toMatchObject([{ line: 2, reason: 'batch declares 5 records but holds 4' }]);
  });

  it('csv: wrong column count, unclosed quote, and a missing header', () => {
    const lines = encodeBatch('shipment', 'csv', records).toString('utf8').split('\n');
    lines[2] = lines[2] + ',extra';
    lines[3] = '"' + lines[3];
    const d = decodeBatch('shipment', 'csv', lines.join('\n'));
    expect(d.records).toEqual([records[0], records[3], records[4]]);
    expect(d.bad.map((b) => b.line)).toEqual([3, 4]);
    expect(d.bad[0].reason).toMatch(/expected 6 columns/);
    expect(d.bad[1].reason).toMatch(/quote/);
    const headless = decodeBatch('shipment', 'csv', lines.slice(1).join('\n').replace(',extra', '').replace(/^"/m, ''));
    expect(headless.bad).toEqual([]);
    expect(headless.records).toEqual(records);
  });

  it('json: also reads JSON Lines and a one-line array, element by element', () => {
    const jsonl = records.map((r) => JSON.stringify(r)).join('\n');
    expect(decodeBatch('shipment', 'json', jsonl)).toEqual({ records, bad: [] });
    const oneLine = JSON.stringify([records[0], { ...records[1], parcels: 'two' }, records[2]]);
    const d = decodeBatch('shipment', 'json', oneLine);
    expect(d.records).toEqual([records[0], records[2]]);
    expect(d.bad).toMatchObject([{ line: 1, reason: expect.stringContaining('element 1') }]);
  });

  it('xml: refuses a batch of another kind and unsupported constructs', () => {
    const buf = encodeBatch('payment', 'xml', samples.payment.slice(0, 2));
    const d = decodeBatch('shipment', 'xml', buf);
    expect(d.records).toEqual([]);
    expect(d.bad.length).toBeGreaterThanOrEqual(3);
    expect(() => decodeRecord('payment', 'xml', '<payment orderId="x"></payment>')).toThrow(/attributes/);
    expect(() => decodeRecord('payment', 'xml', '<payment><!-- hi --></payment>')).toThrow(/unsupported/);
    expect(() => decodeRecord('payment', 'xml', '<payment><orderId>a</orderId><orderId>b</orderId></payment>')).toThrow(/repeated/);
  });
});
