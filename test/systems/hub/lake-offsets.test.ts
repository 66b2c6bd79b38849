// The lake sink's checkpoint on its own: offsets survive a save/load, parts sealed after the save
// come back as unconfirmed lines, and unmatched lines survive the next save (a second crash).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { LakeOffsetCheckpoint } from '../../../systems/hub/index.ts';
import { HubLakeWriter } from '../../../systems/lake/index.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const lakeDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'untangle-lake-offsets-'));
  dirs.push(d);
  return d;
};
const T = Date.UTC(2026, 0, 2);

describe('LakeOffsetCheckpoint', () => {
  test('a fresh lake has no offsets and nothing unconfirmed', () => {
    expect(new LakeOffsetCheckpoint(lakeDir()).load()).toEqual({ highWater: new Map(), unconfirmed: new Map() });
  });

  test('offsets round-trip; only parts sealed after the save are unconfirmed', () => {
    const dir = lakeDir();
    const writer = new HubLakeWriter({ lakeDir: dir });
    writer.append('order', { orderId: 'o-1' }, T);
    writer.flush();
    const cp = new LakeOffsetCheckpoint(dir);
    cp.save(new Map([['t.orders/0', 0n], ['t.orders/3', 41n]]));
    writer.append('order', { orderId: 'o-2' }, T);
    writer.append('order', { orderId: 'o-2' }, T);
    writer.append('payment', { orderId: 'o-2' }, T);
    writer.flush();
    writer.append('order', { orderId: 'o-3' }, T); // appended, never sealed: not in the lake
    const state = cp.load();
    expect(state.highWater).toEqual(new Map([['t.orders/0', 0n], ['t.orders/3', 41n]]));
    expect(state.unconfirmed).toEqual(new Map([
      ['order', new Map([['{"orderId":"o-2"}', 2]])],
      ['payment', new Map([['{"orderId":"o-2"}', 1]])],
    ]));
  });

  test('unconfirmed lines not yet matched are kept by the next save', () => {
    const dir = lakeDir();
    const writer = new HubLakeWriter({ lakeDir: dir });
    const cp = new LakeOffsetCheckpoint(dir);
    cp.save(new Map());
    writer.append('order', { orderId: 'o-1' }, T);
    writer.append('order', { orderId: 'o-2' }, T);
    writer.flush();
    const { unconfirmed } = cp.load();
    unconfirmed.get('order')!.delete('{"orderId":"o-1"}'); // o-1 was re-delivered and matched
    cp.save(new Map([['t.orders/0', 7n]]), unconfirmed);
    expect(cp.load().unconfirmed).toEqual(new Map([['order', new Map([['{"orderId":"o-2"}', 1]])]]));
  });

  test('a corrupt checkpoint is an error, not a fresh start', () => {
    const dir = lakeDir();
    const cp = new LakeOffsetCheckpoint(dir);
    fs.writeFileSync(cp.file, '{"version":2}');
    expect(() => cp.load()).toThrow(/not a version 1 checkpoint/);
  });
});
