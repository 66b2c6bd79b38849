/**
 * The fixed shape of every record kind for the text formats: column order (CSV), element names
 * (XML) and field types (to turn text back into numbers). A kind has scalar columns and at most
 * one list column (order items, reservation lines), flattened in CSV as
 *   sku:qty:unitPriceCents|sku:qty:unitPriceCents
 * which is reversible because list fields (SKUs, integers) never contain ':' or '|'.
 */
import type { DataKind } from '../domain/records.ts';

export const DATA_FORMATS = ['json', 'xml', 'csv'] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];

/** File extension of a batch of each format. */
export const FORMAT_EXTENSIONS: Readonly<Record<DataFormat, string>> = { json: 'json', xml: 'xml', csv: 'csv' };

export function isDataFormat(value: unknown): value is DataFormat {
  return typeof value === 'string' && (DATA_FORMATS as readonly string[]).includes(value);
}

export type FieldType = 'string' | 'int' | 'number';

export interface ScalarColumn {
  readonly name: string;
  readonly type: FieldType;
}

export interface ListColumn {
  readonly name: string;
  /** The XML element name of one entry. */
  readonly element: string;
  readonly fields: readonly ScalarColumn[];
}

export type Column = ScalarColumn | ListColumn;

export function isListColumn(c: Column): c is ListColumn {
  return 'fields' in c;
}

export interface KindLayout {
  /** The XML element name of one record. */
  readonly element: string;
  readonly columns: readonly Column[];
}

export const LIST_ENTRY_SEPARATOR = '|';
export const LIST_FIELD_SEPARATOR = ':';

const s = (name: string): ScalarColumn => ({ name, type: 'string' });
const i = (name: string): ScalarColumn => ({ name, type: 'int' });
const n = (name: string): ScalarColumn => ({ name, type: 'number' });

export const KIND_LAYOUTS: Readonly<Record<DataKind, KindLayout>> = {
  order: {
    element: 'order',
    columns: [
      s('orderId'),
      s('customerId'),
      i('createdAtMs'),
      { name: 'items', element: 'item', fields: [s('sku'), i('qty'), i('unitPriceCents')] },
      i('totalCents'),
      s('currency'),
      s('country'),
      s('email'),
    ],
  },
  payment: { element: 'payment', columns: [s('orderId'), s('paymentId'), i('amountCents'), s('method'), s('status')] },
  reservation: {
    element: 'reservation',
    columns: [s('orderId'), s('reservationId'), s('warehouse'), { name: 'lines', element: 'line', fields: [s('sku'), i('qty')] }],
  },
  shipment: {
    element: 'shipment',
    columns: [s('orderId'), s('shipmentId'), s('reservationId'), s('carrier'), s('trackingNo'), i('parcels')],
  },
  customer: { element: 'customer', columns: [s('orderId'), s('customerId'), s('email'), s('country'), s('segment')] },
  invoice: { element: 'invoice', columns: [s('orderId'), s('invoiceId'), s('paymentId'), i('amountCents'), i('taxCents')] },
  insight: { element: 'insight', columns: [s('orderId'), s('source'), s('metric'), n('value')] },
  notification: { element: 'notification', columns: [s('orderId'), s('trigger'), s('channel'), s('template')] },
  'risk-score': { element: 'riskScore', columns: [s('orderId'), s('source'), i('score'), s('verdict')] },
};

const NUMBER_TEXT = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * Text back to a field value. Numeric text becomes a number; anything else is returned as it is,
 * so the kind's validator reports the field with a precise reason ("expected number, received string").
 */
export function parseScalar(type: FieldType, text: string): unknown {
  if (type === 'string') return text;
  return NUMBER_TEXT.test(text) ? Number(text) : text;
}

/** A field value as text: numbers in JavaScript's shortest round-trip form. */
export function formatScalar(value: unknown): string {
  return typeof value === 'number' ? String(value) : String(value ?? '');
}
