/** A record that cannot be encoded or decoded; `reason` says why (used for quarantine entries). */
export class CodecError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'CodecError';
  }
}

/** One line (or element) of a batch that could not be decoded; the others still are. */
export interface BadLine {
  /** 1-based line number in the batch. */
  line: number;
  /** The line as read (cut to RAW_CHARS_MAX characters). */
  raw: string;
  reason: string;
}

/** Longest raw text kept in a BadLine. */
export const RAW_CHARS_MAX = 64 * 1024;

export function badLine(line: number, raw: string, reason: string): BadLine {
  return { line, raw: raw.length > RAW_CHARS_MAX ? `${raw.slice(0, RAW_CHARS_MAX)}…(cut)` : raw, reason };
}

export function errorReason(e: unknown): string {
  if (e instanceof CodecError) return e.reason;
  return e instanceof Error ? e.message : String(e);
}
