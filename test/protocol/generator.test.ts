import { describe, expect, it } from 'vitest';
import { moduleName } from '../../broker/protocol/generator/apis.ts';
import { stripJsonComments } from '../../broker/protocol/generator/schema.ts';
import { parseVersions, splitByFlexibility, subtract, versionCondition } from '../../broker/protocol/generator/versions.ts';

describe('generator helpers', () => {
  it('strips // comments but not // inside strings', () => {
    const text = '// header\n{ "about": "see http://x//y", // trailing\n  "n": 1 }\n';
    expect(JSON.parse(stripJsonComments(text))).toEqual({ about: 'see http://x//y', n: 1 });
    expect(JSON.parse(stripJsonComments('{ "a": "quote \\" // still string" }'))).toEqual({ a: 'quote " // still string' });
  });

  it('parses version specs', () => {
    expect(parseVersions('3+', 'x')).toEqual({ min: 3, max: Infinity });
    expect(parseVersions('2-7', 'x')).toEqual({ min: 2, max: 7 });
    expect(parseVersions('5', 'x')).toEqual({ min: 5, max: 5 });
    expect(parseVersions('none', 'x').max).toBeLessThan(parseVersions('none', 'x').min);
    expect(() => parseVersions('3-', 'x')).toThrow(/cannot parse/);
  });

  it('emits only the version checks a branch needs', () => {
    const classic = { min: 0, max: 8 };
    expect(versionCondition(parseVersions('0+', 'x'), classic)).toBeNull();
    expect(versionCondition(parseVersions('3+', 'x'), classic)).toBe('version >= 3');
    expect(versionCondition(parseVersions('2-4', 'x'), classic)).toBe('version >= 2 && version <= 4');
    expect(versionCondition(parseVersions('0', 'x'), classic)).toBe('version <= 0');
    expect(versionCondition(parseVersions('5', 'x'), classic)).toBe('version === 5');
    expect(versionCondition(parseVersions('9+', 'x'), classic)).toBe(false);
    expect(splitByFlexibility({ min: 0, max: 11 }, parseVersions('9+', 'x'))).toEqual({
      classic: { min: 0, max: 8 },
      flexible: { min: 9, max: 11 },
    });
    expect(subtract({ min: 0, max: Infinity }, { min: 12, max: Infinity }, 'x')).toEqual({ min: 0, max: 11 });
  });

  it('names API modules in kebab case', () => {
    expect(moduleName('ListOffsets')).toBe('list-offsets');
    expect(moduleName('InitProducerId')).toBe('init-producer-id');
  });
});
