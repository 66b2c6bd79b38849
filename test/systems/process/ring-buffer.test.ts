import { describe, expect, it } from 'vitest';
import { LineSplitter, RingBuffer } from '../../../systems/process/ring-buffer.ts';

describe('RingBuffer', () => {
  it('keeps exactly the last bytesMax bytes across many small and one huge write', () => {
    const rb = new RingBuffer(10);
    for (const s of ['abc', 'defg', 'hijkl', 'mn']) rb.write(Buffer.from(s));
    expect(rb.text()).toBe('efghijklmn');
    expect(rb.totalBytes).toBe(14);
    rb.write(Buffer.from('0123456789ABCDEF'));
    expect(rb.text()).toBe('6789ABCDEF');
    rb.write(Buffer.from('x'));
    expect(rb.text()).toBe('789ABCDEFx');
  });

  it('tailLines returns the last lines, ignoring the final newline', () => {
    const rb = new RingBuffer(1024);
    rb.write(Buffer.from('one\ntwo\nthree\n'));
    expect(rb.tailLines(2)).toBe('two\nthree');
  });

  it('rejects a nonsense size', () => {
    expect(() => new RingBuffer(0)).toThrow(/positive integer/);
  });
});

describe('LineSplitter', () => {
  it('joins lines split across chunks (also inside a multi-byte character) and strips \\r', () => {
    const lines: string[] = [];
    const ls = new LineSplitter((l) => lines.push(l));
    const euro = Buffer.from('€');
    ls.push(Buffer.from('ab'));
    ls.push(Buffer.concat([Buffer.from('c\r\nd'), euro.subarray(0, 1)]));
    ls.push(Buffer.concat([euro.subarray(1), Buffer.from('\nrest')]));
    expect(lines).toEqual(['abc', 'd€']);
    ls.flush();
    expect(lines).toEqual(['abc', 'd€', 'rest']);
  });

  it('cuts an endless line at lineBytesMax instead of growing forever', () => {
    const lines: string[] = [];
    const ls = new LineSplitter((l) => lines.push(l), 8);
    ls.push('0123456789');
    expect(lines).toEqual(['0123456789']);
  });
});
