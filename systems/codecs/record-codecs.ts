/**
 * One record to and from text in each format, in the layout its kind's declared fields give
 * (layouts.ts). Encoding validates the record first (so only valid records are ever written);
 * decoding validates what it read. Both throw CodecError with a reason.
 *   json: the record as a JSON object on one line
 *   xml:  <order><orderId>o-1</orderId>…<items><item><sku>…</sku>…</item></items></order> on one line
 *   csv:  one row in the kind's column order (no header: see csvHeader), lists flattened
 */
import type { RecordKind } from '../model/kinds.ts';
import { CodecError } from './errors.ts';
import {
  formatScalar,
  isListColumn,
  layoutOf,
  LIST_ENTRY_SEPARATOR,
  LIST_FIELD_SEPARATOR,
  parseScalar,
  type DataFormat,
  type FieldType,
  type ListColumn,
} from './layouts.ts';
import { formatCsvRow, parseCsvLine, parseXmlElement, type XmlElement } from './text-formats.ts';

/** A record of some kind: field name to value. */
export type KindRecord = Record<string, unknown>;

function checked(kind: RecordKind, value: unknown): KindRecord {
  const v = kind.validate(value);
  if (!v.ok) throw new CodecError(v.reason);
  return v.record;
}

// ---- JSON -------------------------------------------------------------------------------------

export function encodeJson(kind: RecordKind, record: KindRecord): string {
  return JSON.stringify(checked(kind, record));
}

export function decodeJson(kind: RecordKind, text: string): KindRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new CodecError(`not JSON: ${(e as Error).message}`);
  }
  return checked(kind, value);
}

// ---- CSV --------------------------------------------------------------------------------------

/** The header line of a kind's CSV: its column names in order. */
export function csvHeader(kind: RecordKind): string {
  return layoutOf(kind).csvHeader;
}

export function encodeCsv(kind: RecordKind, record: KindRecord): string {
  const r = checked(kind, record);
  const row = layoutOf(kind).columns.map((c) =>
    isListColumn(c)
      ? (r[c.name] as Record<string, unknown>[])
          .map((e) => c.fields.map((f) => formatScalar(e[f.name])).join(LIST_FIELD_SEPARATOR))
          .join(LIST_ENTRY_SEPARATOR)
      : formatScalar(r[c.name]),
  );
  return formatCsvRow(row);
}

export function decodeCsv(kind: RecordKind, line: string): KindRecord {
  const cells = parseCsvLine(line);
  const columns = layoutOf(kind).columns;
  if (cells.length !== columns.length) {
    throw new CodecError(`expected ${columns.length} columns (${csvHeader(kind)}), found ${cells.length}`);
  }
  const value: Record<string, unknown> = {};
  columns.forEach((c, idx) => {
    value[c.name] = isListColumn(c) ? parseCsvList(c, cells[idx]) : parseScalar(c.type, cells[idx]);
  });
  return checked(kind, value);
}

function parseCsvList(c: ListColumn, cell: string): unknown[] {
  if (cell === '') return [];
  return cell.split(LIST_ENTRY_SEPARATOR).map((entry, n) => {
    const parts = entry.split(LIST_FIELD_SEPARATOR);
    if (parts.length !== c.fields.length) {
      throw new CodecError(
        `${c.name}.${n}: expected ${c.fields.map((f) => f.name).join(LIST_FIELD_SEPARATOR)}, found "${entry}"`,
      );
    }
    return Object.fromEntries(c.fields.map((f, i) => [f.name, parseScalar(f.type, parts[i])]));
  });
}

// ---- XML --------------------------------------------------------------------------------------

const XML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => XML_ESCAPES[ch]);
}

export function encodeXml(kind: RecordKind, record: KindRecord): string {
  const r = checked(kind, record);
  const layout = layoutOf(kind);
  const tag = (name: string, inner: string) => `<${name}>${inner}</${name}>`;
  const body = layout.columns
    .map((c) => {
      if (!isListColumn(c)) return tag(c.name, escapeXml(formatScalar(r[c.name])));
      const entries = (r[c.name] as Record<string, unknown>[]).map((e) =>
        tag(c.element, c.fields.map((f) => tag(f.name, escapeXml(formatScalar(e[f.name])))).join('')),
      );
      return tag(c.name, entries.join(''));
    })
    .join('');
  return tag(layout.element, body);
}

/** The child elements of `el` by name; repeated or (when `allowed` is given) unknown names are errors. */
function childrenByName(el: XmlElement, allowed: ReadonlySet<string>): Map<string, XmlElement> {
  const m = new Map<string, XmlElement>();
  for (const c of el.children) {
    if (!allowed.has(c.name)) throw new CodecError(`unexpected element <${c.name}> in <${el.name}>`);
    if (m.has(c.name)) throw new CodecError(`repeated element <${c.name}> in <${el.name}>`);
    m.set(c.name, c);
  }
  return m;
}

function xmlText(el: XmlElement, type: FieldType): unknown {
  if (el.children.length > 0) throw new CodecError(`<${el.name}> must hold text, not elements`);
  return parseScalar(type, el.text);
}

export function decodeXml(kind: RecordKind, text: string): KindRecord {
  const layout = layoutOf(kind);
  const root = parseXmlElement(text);
  if (root.name !== layout.element) throw new CodecError(`expected <${layout.element}>, found <${root.name}>`);
  const fields = childrenByName(root, new Set(layout.columns.map((c) => c.name)));
  const value: Record<string, unknown> = {};
  for (const c of layout.columns) {
    const el = fields.get(c.name);
    if (!el) continue; // the validator reports the missing field
    if (!isListColumn(c)) {
      value[c.name] = xmlText(el, c.type);
      continue;
    }
    const entryFields = new Set(c.fields.map((f) => f.name));
    value[c.name] = el.children.map((entry) => {
      if (entry.name !== c.element) throw new CodecError(`unexpected element <${entry.name}> in <${c.name}>`);
      const m = childrenByName(entry, entryFields);
      return Object.fromEntries(c.fields.filter((f) => m.has(f.name)).map((f) => [f.name, xmlText(m.get(f.name)!, f.type)]));
    });
    if (el.children.length === 0 && el.text.trim() !== '') throw new CodecError(`<${c.name}> must hold <${c.element}> elements`);
  }
  return checked(kind, value);
}

// ---- any format -------------------------------------------------------------------------------

export function encodeRecord(kind: RecordKind, format: DataFormat, record: KindRecord): string {
  if (format === 'json') return encodeJson(kind, record);
  if (format === 'xml') return encodeXml(kind, record);
  return encodeCsv(kind, record);
}

export function decodeRecord(kind: RecordKind, format: DataFormat, text: string): KindRecord {
  if (format === 'json') return decodeJson(kind, text);
  if (format === 'xml') return decodeXml(kind, text);
  return decodeCsv(kind, text);
}
