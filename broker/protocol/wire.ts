// Kafka wire-format primitives: a bounds-checked Reader and a chunked, growable Writer, plus the
// small helpers generated codecs (./generated) use. Import protocol primitives from here.

export { ProtocolError, Reader } from './reader.ts';
export { Writer } from './writer.ts';

/** Records on the encode side: one buffer or a list of buffers, written by reference. */
export type RecordsInput = Buffer | readonly Buffer[];

/** Shared default for absent uuid fields. Treat as read-only. */
export const ZERO_UUID: Buffer = Buffer.alloc(16);
/** Shared default for absent bytes fields. */
export const EMPTY_BUFFER: Buffer = Buffer.alloc(0);

export function isZeroUuid(uuid: Buffer): boolean {
  for (let i = 0; i < uuid.length; i++) if (uuid[i] !== 0) return false;
  return true;
}

/** Encode-side guard for a nullable-in-some-versions field that is null in a version where it may not be. */
export function requireNonNull<T>(value: T | null, fieldPath: string, version: number): T {
  if (value === null) throw new Error(`${fieldPath} must not be null in version ${version}`);
  return value;
}
