/**
 * Deterministic "randomness" for the handlers: every choice is derived from a stable hash of the
 * input, never from time or Math.random, so the same order always gives the same outcome in
 * every layout, process and run. Also burnCpu, the configured per-message processing cost.
 */
import { createHash } from 'node:crypto';

/** FNV-1a, 32-bit, over the UTF-16 code units of the parts joined by '\u0001'. */
export function stableHash(...parts: readonly (string | number)[]): number {
  let h = 0x811c9dc5;
  const s = parts.join('\u0001');
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A stable integer in [0, n). */
export function stableInt(n: number, ...parts: readonly (string | number)[]): number {
  return stableHash(...parts) % n;
}

/** A stable choice from `options`. */
export function stablePick<T>(options: readonly T[], ...parts: readonly (string | number)[]): T {
  return options[stableInt(options.length, ...parts)];
}

/** `chars` upper-case hex digits of sha256(parts): for identifiers that look random but are not. */
export function stableHex(chars: number, ...parts: readonly (string | number)[]): string {
  return createHash('sha256').update(parts.join('\u0001')).digest('hex').slice(0, chars).toUpperCase();
}

/**
 * A real busy loop of about `costUs` microseconds of CPU: repeated sha256 hashing, checking the
 * clock every few rounds. Returns the number of hash rounds done (so the work cannot be elided).
 */
export function burnCpu(costUs: number): number {
  if (!(costUs > 0)) return 0;
  const deadline = process.hrtime.bigint() + BigInt(Math.round(costUs * 1000));
  let digest = Buffer.alloc(32);
  let rounds = 0;
  do {
    for (let i = 0; i < 8; i++) {
      digest = createHash('sha256').update(digest).digest();
      rounds++;
    }
  } while (process.hrtime.bigint() < deadline);
  return rounds + (digest[0] & 0);
}
