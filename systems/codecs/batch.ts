/**
 * Batches of records in one format, laid out one record per line so that a corrupt line never
 * takes the others with it: decodeBatch returns the good records and reports each bad line with
 * its number, text and reason (for the quarantine).
 *   json: a JSON array written one element per line ("[", "{…},", …, "{…}", "]"): a valid JSON
 *         document; JSON Lines (no brackets) and a one-line array are read too.
 *   csv:  a header line with the kind's column names, then one row per record.
 *   xml:  <?xml …?>, <records kind="order" count="N">, one element per line, </records>.
 * A missing closing line ("]", "</records>") or a wrong XML count is reported as a bad entry too:
 * it means the batch was cut short and records may be missing.
 * The kind is a RecordKind built from the topology's declaration: its fields give the CSV columns
 * and XML elements (layouts.ts) and its validator checks every record written and read.
 */
import type { RecordKind } from '../model/kinds.ts';
import { badLine, errorReason, type BadLine } from './errors.ts';
import type { DataFormat } from './layouts.ts';
import { csvHeader, decodeCsv, decodeJson, decodeRecord, encodeRecord, type KindRecord } from './record-codecs.ts';

/** Largest batch decodeBatch reads, in bytes. */
export const BATCH_BYTES_MAX = 256 * 1024 * 1024;
/** Longest line decodeBatch decodes, in bytes. */
export const LINE_BYTES_MAX = 1024 * 1024;

export interface DecodedBatch {
  records: KindRecord[];
  bad: BadLine[];
}

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

export function encodeBatch(kind: RecordKind, format: DataFormat, records: readonly KindRecord[]): Buffer {
  const lines = records.map((r) => encodeRecord(kind, format, r));
  let text: string;
  if (format === 'json') text = lines.length === 0 ? '[\n]\n' : `[\n${lines.join(',\n')}\n]\n`;
  else if (format === 'csv') text = [csvHeader(kind), ...lines].join('\n') + '\n';
  else text = [XML_DECLARATION, `<records kind="${kind.id}" count="${records.length}">`, ...lines, '</records>'].join('\n') + '\n';
  return Buffer.from(text, 'utf8');
}

/**
 * Splits at '\n' (dropping a '\r' before it), decoding each line as strict UTF-8. `text` is null
 * for a line that is not valid UTF-8 or longer than LINE_BYTES_MAX (then `raw` holds what it can).
 */
export function* splitLines(buf: Buffer): Generator<{ line: number; text: string | null; raw: string }> {
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let start = 0;
  for (let line = 1; start < buf.length; line++) {
    let end = buf.indexOf(0x0a, start);
    if (end < 0) end = buf.length;
    let stop = end;
    if (stop > start && buf[stop - 1] === 0x0d) stop--;
    const bytes = buf.subarray(start, stop);
    start = end + 1;
    if (bytes.length > LINE_BYTES_MAX) {
      yield { line, text: null, raw: bytes.subarray(0, 1024).toString('utf8') };
      continue;
    }
    try {
      yield { line, text: utf8.decode(bytes), raw: '' };
    } catch {
      yield { line, text: null, raw: bytes.toString('utf8') };
    }
  }
}

export function decodeBatch(kind: RecordKind, format: DataFormat, input: Buffer | string): DecodedBatch {
  const buf = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const out: DecodedBatch = { records: [], bad: [] };
  if (buf.length > BATCH_BYTES_MAX) {
    out.bad.push(badLine(0, buf.subarray(0, 1024).toString('utf8'), `batch of ${buf.length} bytes exceeds ${BATCH_BYTES_MAX}`));
    return out;
  }
  const state = { opened: false, closed: false, lastLine: 0, headerLine: 0, declaredCount: -1, elements: 0, first: true };
  for (const { line, text, raw } of splitLines(buf)) {
    state.lastLine = line;
    if (text === null) {
      if (format === 'xml') state.elements++; // an unreadable line of the body is one (bad) element
      out.bad.push(badLine(line, raw, raw.length >= 1024 ? `line longer than ${LINE_BYTES_MAX} bytes` : 'not valid UTF-8'));
      continue;
    }
    if (text.trim() === '') continue;
    const first = state.first;
    state.first = false;
    try {
      if (format === 'json') decodeJsonLine(kind, text, line, state, out);
      else if (format === 'csv') {
        if (first && text === csvHeader(kind)) continue;
        out.records.push(decodeCsv(kind, text));
      } else decodeXmlLine(kind, text, line, state, out);
    } catch (e) {
      const hint = format === 'csv' && first ? ` (and not the header ${csvHeader(kind)})` : '';
      out.bad.push(badLine(line, text, errorReason(e) + hint));
    }
  }
  const end = state.lastLine + 1;
  if (format === 'json' && state.opened && !state.closed) out.bad.push(badLine(end, '', 'batch cut short: no closing ]'));
  if (format === 'xml') {
    if (!state.closed) out.bad.push(badLine(end, '', 'batch cut short: no closing </records>'));
    if (state.declaredCount >= 0 && state.declaredCount !== state.elements) {
      out.bad.push(badLine(state.headerLine, '', `batch declares ${state.declaredCount} records but holds ${state.elements}`));
    }
  }
  return out;
}

interface LineState {
  opened: boolean;
  closed: boolean;
  headerLine: number;
  declaredCount: number;
  elements: number;
}

function decodeJsonLine(kind: RecordKind, text: string, line: number, st: LineState, out: DecodedBatch): void {
  const t = text.trim();
  if (st.closed) throw new Error('text after the closing ]');
  if (t === '[') {
    if (st.opened) throw new Error('a second opening [');
    st.opened = true;
    return;
  }
  if (t === ']') {
    st.closed = true;
    return;
  }
  const element = t.endsWith(',') ? t.slice(0, -1) : t;
  if (!element.startsWith('[')) {
    out.records.push(decodeJson(kind, element));
    return;
  }
  // A whole array on one line: one bad element does not lose the others.
  let arr: unknown;
  try {
    arr = JSON.parse(element);
  } catch (e) {
    throw new Error(`not JSON: ${(e as Error).message}`, { cause: e });
  }
  (arr as unknown[]).forEach((value, n) => {
    const v = kind.validate(value);
    if (v.ok) out.records.push(v.record);
    else out.bad.push(badLine(line, JSON.stringify(value) ?? 'undefined', `element ${n}: ${v.reason}`));
  });
}

const RECORDS_OPEN = /^<records kind="([^"]*)" count="(\d+)">$/;

function decodeXmlLine(kind: RecordKind, text: string, line: number, st: LineState, out: DecodedBatch): void {
  const t = text.trim();
  if (st.closed) throw new Error('text after the closing </records>');
  if (t.startsWith('<?xml') && !st.opened) return;
  const open = RECORDS_OPEN.exec(t);
  if (open) {
    if (st.opened) throw new Error('a second <records> element');
    st.opened = true;
    st.headerLine = line;
    st.declaredCount = Number(open[2]);
    if (open[1] !== kind.id) throw new Error(`batch of kind "${open[1]}", expected "${kind.id}"`);
    return;
  }
  if (t === '</records>') {
    st.closed = true;
    return;
  }
  st.elements++;
  out.records.push(decodeRecord(kind, 'xml', t));
}
