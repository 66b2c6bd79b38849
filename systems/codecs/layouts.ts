/**
 * The shape of a data kind in the text formats, derived from its declared fields (RecordKind) so
 * that a kind added to the topology YAML has CSV and XML at once: column order (CSV), element names
 * (XML) and field types (to turn text back into values).
 *   CSV: the kind's fields in declaration order (padding last when the kind has a payload size);
 *        a list field is one column, flattened as   sku:qty:unitPriceCents|sku:qty:unitPriceCents
 *        which is reversible because list elements never contain ':' or '|' (the validator refuses them).
 *   XML: the record element is the kind id in camelCase (risk-score -> <riskScore>), one child
 *        element per field, a list field holds one <item> per entry.
 * Built once per RecordKind and kept.
 */
import type { RecordKind } from '../model/kinds.ts';
import { DATA_FORMATS, type DataFormat, type ScalarType } from '../topology/model.ts';

export { DATA_FORMATS, type DataFormat };

/** File extension of a batch of each format. */
export const FORMAT_EXTENSIONS: Readonly<Record<DataFormat, string>> = { json: 'json', xml: 'xml', csv: 'csv' };

export function isDataFormat(value: unknown): value is DataFormat {
  return typeof value === 'string' && (DATA_FORMATS as readonly string[]).includes(value);
}

/** How a field's text turns back into a value: an enum is text, checked by the validator. */
export type FieldType = ScalarType;

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
  /** The kind id (the XML batch's kind attribute). */
  readonly kind: string;
  /** The XML element name of one record. */
  readonly element: string;
  readonly columns: readonly Column[];
  /** The CSV header line: the column names joined by ','. */
  readonly csvHeader: string;
}

export const LIST_ENTRY_SEPARATOR = '|';
export const LIST_FIELD_SEPARATOR = ':';
/** The XML element of one entry of a list field. */
export const LIST_ENTRY_ELEMENT = 'item';

/** A kebab-case kind id as an XML element name: risk-score -> riskScore. */
export function xmlElementOf(kindId: string): string {
  return kindId.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

const fieldType = (type: FieldType | 'enum'): FieldType => (type === 'enum' ? 'string' : type);

const layouts = new WeakMap<RecordKind, KindLayout>();

/** The text layout of a kind (built on first use). */
export function layoutOf(kind: RecordKind): KindLayout {
  let layout = layouts.get(kind);
  if (layout) return layout;
  const columns: Column[] = kind.fieldNames.map((name) => {
    const spec = kind.typeOf(name);
    if (!spec) throw new Error(`data kind ${kind.id} has no type for its field ${name}`);
    if (spec.type !== 'list') return { name, type: fieldType(spec.type) };
    return { name, element: LIST_ENTRY_ELEMENT, fields: spec.fields.map((f) => ({ name: f.name, type: fieldType(f.spec.type) })) };
  });
  layout = { kind: kind.id, element: xmlElementOf(kind.id), columns, csvHeader: columns.map((c) => c.name).join(',') };
  layouts.set(kind, layout);
  return layout;
}

const NUMBER_TEXT = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * Text back to a field value of the declared type: numeric text becomes a number (int and number;
 * the validator refuses a fraction for an int), 'true'/'false' a boolean. Anything else is
 * returned as it is, so the kind's validator reports the field with a precise reason
 * ("expected number, received string").
 */
export function parseScalar(type: FieldType, text: string): unknown {
  switch (type) {
    case 'string':
      return text;
    case 'int':
    case 'number':
      return NUMBER_TEXT.test(text) ? Number(text) : text;
    case 'bool':
      return text === 'true' ? true : text === 'false' ? false : text;
  }
}

/** A field value as text: numbers in JavaScript's shortest round-trip form, booleans as true/false. */
export function formatScalar(value: unknown): string {
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : String(value ?? '');
}
