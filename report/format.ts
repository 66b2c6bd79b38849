/** Number formatting shared by the markdown, the HTML and the diff: thousands separators, a few decimals. */

/** Shown for a value that was not measured (null). */
export const MISSING = '–';

const formatters = new Map<number, Intl.NumberFormat>();
function formatter(maxFractionDigits: number): Intl.NumberFormat {
  let f = formatters.get(maxFractionDigits);
  if (!f) {
    f = new Intl.NumberFormat('en-US', { maximumFractionDigits: maxFractionDigits, useGrouping: true });
    formatters.set(maxFractionDigits, f);
  }
  return f;
}

/** Decimals that keep about three significant digits, at most 3 and none from 1,000 up (and none for an integer). */
export function fractionDigitsFor(v: number): number {
  const a = Math.abs(v);
  if (Number.isInteger(v) || a >= 1000) return 0;
  if (a >= 100) return 1;
  if (a >= 1) return 2;
  return 3;
}

/** 12345 → "12,345"; 3.14159 → "3.14"; 0.01234 → "0.012"; null → "–". */
export function formatNumber(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return MISSING;
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞';
  const s = formatter(fractionDigitsFor(v)).format(v);
  return s === '-0' ? '0' : s;
}

/** A 0..1 share as a percentage: 0.0123 → "1.23 %". */
export function formatPercent(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined) return MISSING;
  return `${formatNumber(fraction * 100)} %`;
}

/** hub / legacy: 0.1111 → "0.111×". */
export function formatRatio(ratio: number | null | undefined): string {
  return ratio === null || ratio === undefined ? MISSING : `${formatNumber(ratio)}×`;
}

/** A relative change in percent, signed: 12.5 → "+12.5 %", -3 → "-3 %". */
export function formatChange(pct: number | null | undefined): string {
  if (pct === null || pct === undefined) return MISSING;
  const s = formatNumber(pct);
  return pct > 0 ? `+${s} %` : `${s} %`;
}

const BYTE_UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** 16777216 → "16 MiB". */
export function formatBytes(bytes: number): string {
  let v = bytes;
  let unit = 0;
  while (v >= 1024 && unit < BYTE_UNITS.length - 1) {
    v /= 1024;
    unit++;
  }
  return `${formatNumber(unit === 0 ? v : Math.round(v * 10) / 10)} ${BYTE_UNITS[unit]}`;
}

/**
 * A setting's value for a table cell: strings as they are, lists of plain values comma-separated, anything
 * else as compact JSON (numbers unformatted: ports and seeds read wrong with thousands separators).
 */
export function formatSetting(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean')) return v.join(', ');
  const json = JSON.stringify(v);
  return json === undefined ? String(v) : json;
}

/** ["A","B"] → "A, B"; [] → "none". */
export function formatList(items: readonly string[]): string {
  return items.length === 0 ? 'none' : items.join(', ');
}

export function yesNo(b: boolean): string {
  return b ? 'yes' : 'no';
}
