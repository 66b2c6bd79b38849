/**
 * The integration practices a run chose: each weakness of a point-to-point landscape that is a
 * choice, not a property of point-to-point integration, is a named option with its as-grown
 * behaviour and its best practice, and so is the hub's delivery guarantee. A run records which it
 * used, so a reviewer can see that the losing side was given its best shot (or was not).
 */

/** Every option, its values, and which value is the as-grown behaviour and which the best practice. */
export const PRACTICE_OPTIONS = {
  /**
   * legacy: what a system has produced but not yet handed over on a schedule (its lake export, its
   * batch drops, its rest-poll feed): held in memory (`memory`, lost at a kill) or in a durable
   * outbox on disk (`durable`, written before the record counts as handled).
   */
  outbox: { values: ['memory', 'durable'], asGrown: 'memory', best: 'durable' },
  /**
   * legacy: where a system learns its peers and flows: fixed at start from its command line
   * (`fixed`, a change means a restart) or re-read from a watched file (`reload`, no restart).
   */
  peers: { values: ['fixed', 'reload'], asGrown: 'fixed', best: 'reload' },
  /** legacy: every link and lake export in the format the topology declares (`declared`), or JSON everywhere (`json`). */
  formats: { values: ['declared', 'json'], asGrown: 'declared', best: 'json' },
  /**
   * both layouts: `at-least-once` applies a redelivered record again and the ingress takes a
   * repeated id as a new event; `idempotent` answers a repeated ingress id with its first result,
   * and a system or lake writer skips records it already applied (bounded, kept across restarts).
   */
  delivery: { values: ['at-least-once', 'idempotent'], asGrown: 'at-least-once', best: 'idempotent' },
} as const;

type Options = typeof PRACTICE_OPTIONS;
export type PracticeName = keyof Options;
export type Practices = { readonly [K in PracticeName]: Options[K]['values'][number] };

const NAMES = Object.keys(PRACTICE_OPTIONS) as PracticeName[];

const pick = (which: 'asGrown' | 'best'): Practices =>
  Object.fromEntries(NAMES.map((n) => [n, PRACTICE_OPTIONS[n][which]])) as unknown as Practices;

/** The landscape as it grew: in-memory buffers, fixed peers, declared formats, at-least-once. */
export const AS_GROWN: Practices = pick('asGrown');
/** Every best practice on. */
export const BEST_PRACTICE: Practices = pick('best');

/** `outbox=durable,peers=reload,...` (any subset; the rest from `base`). Throws a clear error for a bad name or value. */
export function parsePractices(text: string, base: Practices = AS_GROWN): Practices {
  const out: Record<string, string> = { ...base };
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p.length > 0)) {
    const m = /^([a-z-]+)=([a-z-]+)$/.exec(part);
    if (!m) throw new Error(`expected NAME=VALUE pairs separated by commas (${NAMES.join(', ')}), got "${part.slice(0, 100)}"`);
    const name = m[1] as PracticeName;
    if (!NAMES.includes(name)) throw new Error(`unknown practice "${m[1]}": expected one of ${NAMES.join(', ')}`);
    const values: readonly string[] = PRACTICE_OPTIONS[name].values;
    if (!values.includes(m[2])) throw new Error(`practice ${name}: expected ${values.join(' or ')}, got "${m[2]}"`);
    out[name] = m[2];
  }
  return out as unknown as Practices;
}

/** The form parsePractices reads, every option named, in a fixed order. */
export function formatPractices(p: Practices): string {
  return NAMES.map((n) => `${n}=${p[n]}`).join(',');
}

/** Per option: whether the value is the best practice (for the report). */
export function bestPracticeFlags(p: Practices): Record<PracticeName, boolean> {
  return Object.fromEntries(NAMES.map((n) => [n, p[n] === PRACTICE_OPTIONS[n].best])) as Record<PracticeName, boolean>;
}
