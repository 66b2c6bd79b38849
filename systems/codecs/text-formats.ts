/**
 * The two small text parsers the codecs need, written for our fixed layouts rather than taken
 * from a general library: a general parser cost ~100 µs per small XML element and ~150 µs per CSV
 * line (measured), which would bill the legacy layout for our tooling instead of its formats.
 *
 * CSV (RFC 4180, one record per line): fields separated by ',', a field containing ',', '"' or
 * leading/trailing space is quoted with '"' and inner quotes doubled. Fields never contain line
 * breaks (the record validators refuse control characters).
 *
 * XML (a strict subset): elements with either text or child elements, no attributes, comments,
 * CDATA or processing instructions; text may use the five predefined entities and numeric
 * character references; `<x/>` is an empty element; whitespace between child elements is ignored.
 */
import { CodecError } from './errors.ts';

export function formatCsvRow(cells: readonly string[]): string {
  return cells.map((c) => (/[",]|^\s|\s$/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(',');
}

export function parseCsvLine(line: string): string[] {
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let cell = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) throw new CodecError(`unclosed quote in field ${cells.length + 1}`);
        cell += line.slice(i, q);
        if (line[q + 1] === '"') {
          cell += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      if (i < line.length && line[i] !== ',') throw new CodecError(`text after the closing quote of field ${cells.length + 1}`);
      cells.push(cell);
    } else {
      const comma = line.indexOf(',', i);
      const end = comma < 0 ? line.length : comma;
      const cell = line.slice(i, end);
      if (cell.includes('"')) throw new CodecError(`stray quote in field ${cells.length + 1}`);
      cells.push(cell);
      i = end;
    }
    if (i >= line.length) return cells;
    i++; // the comma
  }
}

/** A parsed XML element: its name and either its text or its child elements (in order). */
export interface XmlElement {
  name: string;
  text: string;
  children: XmlElement[];
}

const NAME = /[A-Za-z_][A-Za-z0-9_.-]*/y;
const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
/** Deepest nesting accepted; our layouts need 4. */
const XML_DEPTH_MAX = 16;

function decodeText(raw: string, at: number): string {
  return raw.replace(/&([^;]*);?/g, (m, ref: string) => {
    if (!m.endsWith(';')) throw new CodecError(`unterminated entity near column ${at + 1}`);
    if (ref in ENTITIES) return ENTITIES[ref];
    const code = /^#x[0-9A-Fa-f]{1,6}$/.test(ref) ? parseInt(ref.slice(2), 16) : /^#[0-9]{1,7}$/.test(ref) ? Number(ref.slice(1)) : -1;
    if (code < 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw new CodecError(`unknown entity &${ref}; near column ${at + 1}`);
    return String.fromCodePoint(code);
  });
}

/** Parses one element (surrounding whitespace allowed); throws CodecError saying where it is not well-formed. */
export function parseXmlElement(src: string): XmlElement {
  let i = 0;
  const skipSpace = () => {
    while (i < src.length && /\s/.test(src[i])) i++;
  };
  const name = (): string => {
    NAME.lastIndex = i;
    const m = NAME.exec(src);
    if (!m) throw new CodecError(`expected an element name at column ${i + 1}`);
    i += m[0].length;
    return m[0];
  };
  const element = (depth: number): XmlElement => {
    if (depth > XML_DEPTH_MAX) throw new CodecError(`elements nested deeper than ${XML_DEPTH_MAX}`);
    if (src[i] !== '<') throw new CodecError(`expected '<' at column ${i + 1}`);
    i++;
    if (src[i] === '!' || src[i] === '?') throw new CodecError(`unsupported XML construct at column ${i}`);
    const el: XmlElement = { name: name(), text: '', children: [] };
    skipSpace();
    if (src.startsWith('/>', i)) {
      i += 2;
      return el;
    }
    if (src[i] !== '>') throw new CodecError(`attributes are not supported (<${el.name}> at column ${i + 1})`);
    i++;
    let text = '';
    for (;;) {
      const lt = src.indexOf('<', i);
      if (lt < 0) throw new CodecError(`<${el.name}> is not closed`);
      text += src.slice(i, lt);
      i = lt;
      if (src.startsWith('</', i)) {
        i += 2;
        const closing = name();
        if (closing !== el.name) throw new CodecError(`</${closing}> closes <${el.name}> at column ${i + 1}`);
        skipSpace();
        if (src[i] !== '>') throw new CodecError(`expected '>' at column ${i + 1}`);
        i++;
        break;
      }
      el.children.push(element(depth + 1));
    }
    if (el.children.length > 0) {
      if (text.trim() !== '') throw new CodecError(`<${el.name}> mixes text and elements`);
    } else el.text = decodeText(text, i);
    return el;
  };
  skipSpace();
  const root = element(0);
  skipSpace();
  if (i < src.length) throw new CodecError(`text after </${root.name}> at column ${i + 1}`);
  return root;
}
