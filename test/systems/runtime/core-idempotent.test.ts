// SystemCore with delivery=idempotent: a record applied once is not applied again, after a restart
// on the same journal too, nor by another instance of the system (it follows the siblings'
// journals), yet its outputs come back flagged `repeat` so the wiring hands them over again; the
// memory is bounded by the journal's ids limit. at-least-once applies it again, as before.
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ingressEvents } from '../../../scenarios/load/ingress-feed.ts';
import { SystemCore, type SystemCoreOptions } from '../../../systems/runtime/core.ts';
import { loadTopology } from '../../../systems/topology/index.ts';

const topology = loadTopology('scenarios/topologies/shop.yaml');
const B = topology.systems.find((s) => s.id === 'B')!;
const orders = (seed: number, count: number) => ingressEvents(topology, seed, count).map((e) => e.record);
const stateDir = () => join(mkdtempSync(join(tmpdir(), 'untangle-idem-')), 'state');

const cores: SystemCore[] = [];
afterEach(() => { for (const c of cores.splice(0)) c.close(); });
function core(journal: string, options: SystemCoreOptions = { delivery: 'idempotent' }, now = () => 10): SystemCore {
  const c = new SystemCore(B, topology, now, journal, options);
  cores.push(c);
  return c;
}

describe('SystemCore, delivery=idempotent', () => {
  it('applies a record once across a restart on the same journal, and returns its outputs again as a repeat', async () => {
    const journal = join(stateDir(), 'B', 'received.journal');
    const [order, other] = orders(5, 2);
    const first = core(journal);
    const applied = await first.handle('order', order);
    expect(applied.ok && applied.repeat).toBeUndefined();
    expect(applied.ok && applied.outputs.map((o) => o.kind)).toEqual(['payment']);
    // The same record again in the same process: not applied, the same outputs.
    expect(await first.handle('order', order)).toEqual({ ...applied, repeat: true });
    first.close();

    const restarted = core(journal, { delivery: 'idempotent' }, () => 20);
    expect(await restarted.handle('order', order)).toEqual({ ...applied, repeat: true });
    expect((await restarted.handle('order', other)).ok).toBe(true);
    expect(restarted.repeatsSkipped).toBe(1);
    expect(restarted.producedByKind.get('payment')).toBe(1); // only `other` counts
    expect(restarted.receivedState().order).toEqual({ count: 2, ids: [order.orderId, other.orderId], atMs: [10, 20], truncated: false });
    expect(readFileSync(journal, 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it('at-least-once (as grown) applies the record again after the restart', async () => {
    const journal = join(stateDir(), 'B', 'received.journal');
    const [order] = orders(5, 1);
    await core(journal, {}).handle('order', order);
    const again = await core(journal, { delivery: 'at-least-once' }).handle('order', order);
    expect(again.ok && again.repeat).toBeUndefined();
    expect(cores[1].receivedState().order.ids).toEqual([order.orderId, order.orderId]);
  });

  it('does not apply a record another instance applied, following its journal as it grows (whole lines only)', async () => {
    const dir = stateDir();
    const [j1, j2] = [join(dir, 'B', 'received.journal'), join(dir, 'B.2', 'received.journal')];
    const list = orders(6, 3);
    const b1 = core(j1, { delivery: 'idempotent', siblingJournals: [j2] });
    const b2 = core(j2, { delivery: 'idempotent', siblingJournals: [j1] });
    expect((await b1.handle('order', list[0])).ok).toBe(true);
    expect(await b2.handle('order', list[0])).toMatchObject({ ok: true, repeat: true });
    expect((await b2.handle('order', list[1])).ok).toBe(true);
    expect(await b1.handle('order', list[1])).toMatchObject({ ok: true, repeat: true });

    // A sibling caught mid-write: its half line is not an applied record yet; once whole, it is.
    appendFileSync(j2, `order\t${list[2].orderId}`);
    const b3 = core(join(dir, 'B.3', 'received.journal'), { delivery: 'idempotent', siblingJournals: [j1, j2] });
    appendFileSync(j2, '\t30\n');
    expect(await b3.handle('order', list[2])).toMatchObject({ ok: true, repeat: true });
    expect(b3.receivedState()).toEqual({});
    expect([b1.receivedState().order.ids, b2.receivedState().order.ids]).toEqual([[list[0].orderId], [list[1].orderId]]);
  });

  it('remembers only as many ids per kind as it journals: beyond the limit a repeat is applied again', async () => {
    const journal = join(stateDir(), 'B', 'received.journal');
    const list = orders(7, 3);
    const c = core(journal, { delivery: 'idempotent', idsMax: 2 });
    for (const o of list) await c.handle('order', o);
    expect(await c.handle('order', list[1])).toMatchObject({ repeat: true });
    const beyond = await c.handle('order', list[2]);
    expect(beyond.ok && beyond.repeat).toBeUndefined();
    expect(c.receivedState().order).toMatchObject({ count: 4, truncated: true });
  });
});
