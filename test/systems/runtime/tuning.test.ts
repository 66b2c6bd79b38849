// The wiring's tuning knobs as the report lists them: every exported constant, every field of it,
// each with a value and a reason, in the report's shape.
import { describe, expect, it } from 'vitest';
import * as tuning from '../../../systems/runtime/tuning.ts';
import { TUNING_GROUPS, wiringTuning } from '../../../systems/runtime/tuning.ts';
import { tuningKnobSchema } from '../../../report/model-throughput.ts';

/** A reported value back as the constant's text: '10 MiB' -> '10485760', '200 ms' -> '200', 'true' -> 'true'. */
function valueOf(shown: string): string {
  const bytes = /^(\d+) (MiB|KiB|B)$/.exec(shown);
  if (bytes) return String(Number(bytes[1]) * { MiB: 1024 * 1024, KiB: 1024, B: 1 }[bytes[2] as 'MiB' | 'KiB' | 'B']);
  return shown.replace(/ (ms|s|records|messages|partitions|sockets|files)$/, '');
}

/** The exported knob constants: plain objects of values (not the groups, not functions). */
const constants = Object.entries(tuning).filter(([, v]) => typeof v === 'object' && v !== null && !Array.isArray(v));

describe('wiring tuning', () => {
  it('exports knob constants for both layouts', () => {
    expect(constants.length).toBeGreaterThanOrEqual(10);
    expect(new Set(wiringTuning().map((k) => k.layout))).toEqual(new Set(['hub', 'legacy']));
  });

  it('lists every field of every exported constant, with the value the wiring uses', () => {
    const knobs = wiringTuning();
    for (const [name, values] of constants) {
      const group = TUNING_GROUPS.find((g) => g.values === values);
      expect(group, `${name} is not in TUNING_GROUPS`).toBeDefined();
      for (const [key, value] of Object.entries(values as Record<string, unknown>)) {
        const knob = knobs.find((k) => k.part === group!.part && k.knob === key);
        expect(knob, `${name}.${key} is not reported`).toBeDefined();
        expect(valueOf(knob!.value), `${name}.${key}: ${knob!.value}`).toBe(String(value));
      }
    }
  });

  it('gives every knob a value and a reason, once, in the report schema', () => {
    const knobs = wiringTuning();
    for (const k of knobs) {
      expect(tuningKnobSchema.safeParse(k).success, JSON.stringify(k)).toBe(true);
      expect(k.part.trim(), JSON.stringify(k)).not.toBe('');
      expect(k.value.trim(), `${k.part} ${k.knob}`).not.toBe('');
      expect(k.why.trim().length, `${k.part} ${k.knob}`).toBeGreaterThan(10);
    }
    const ids = knobs.map((k) => `${k.layout}/${k.part}/${k.knob}`);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('shows values in their units', () => {
    const byName = (part: string, knob: string) => wiringTuning().find((k) => k.part === part && k.knob === knob)?.value;
    expect(byName('kafkajs consumer', 'maxBytes')).toBe('10 MiB');
    expect(byName('kafkajs consumer (system subscriber)', 'maxBytesPerPartition')).toBe('256 KiB');
    expect(byName('kafkajs producer', 'lingerMs')).toBe(`${tuning.HUB_PRODUCER.lingerMs} ms`);
    expect(byName('AMQP connection', 'heartbeatS')).toBe(`${tuning.AMQP_CONNECTION.heartbeatS} s`);
  });
});
