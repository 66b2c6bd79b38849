import { describe, expect, it } from 'vitest';
import { AS_GROWN, BEST_PRACTICE, bestPracticeFlags, formatPractices, parsePractices } from '../../../systems/runtime/practices.ts';

describe('integration practices', () => {
  it('names the as-grown landscape and the best practice', () => {
    expect(AS_GROWN).toEqual({ outbox: 'memory', peers: 'fixed', formats: 'declared', delivery: 'at-least-once' });
    expect(BEST_PRACTICE).toEqual({ outbox: 'durable', peers: 'reload', formats: 'json', delivery: 'idempotent' });
    expect(Object.values(bestPracticeFlags(BEST_PRACTICE)).every(Boolean)).toBe(true);
    expect(Object.values(bestPracticeFlags(AS_GROWN)).some(Boolean)).toBe(false);
  });
  it('parses a subset over a base and round-trips', () => {
    const p = parsePractices('delivery=idempotent, outbox=durable');
    expect(p).toEqual({ ...AS_GROWN, delivery: 'idempotent', outbox: 'durable' });
    expect(parsePractices(formatPractices(p))).toEqual(p);
    expect(parsePractices('', BEST_PRACTICE)).toEqual(BEST_PRACTICE);
  });
  it('refuses unknown names, values and shapes with a clear error', () => {
    expect(() => parsePractices('outbox=disk')).toThrow(/practice outbox: expected memory or durable, got "disk"/);
    expect(() => parsePractices('speed=fast')).toThrow(/unknown practice "speed"/);
    expect(() => parsePractices('outbox')).toThrow(/expected NAME=VALUE/);
  });
});
