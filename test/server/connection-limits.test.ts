// The connection limits' decisions (broker/server/connection-limits.ts) and the request pool's rules
// (memory-pool.ts), as pure functions and small objects; the hostile-client acceptance tests are in
// test/broker/hostile-clients.test.ts.
import { describe, expect, it } from 'vitest';
import {
  admitConnection, expiredConnections, longestIdle, normalizeAddress, ResponseBudget, sweepIntervalMs,
  type ConnectionActivity, type ConnectionQuotas,
} from '../../broker/server/connection-limits.ts';
import { MemoryPool } from '../../broker/server/memory-pool.ts';
import { parseConnectionOverrides } from '../../cli/broker-command.ts';

const conn = (id: number, o: Partial<ConnectionActivity> = {}): ConnectionActivity => ({
  id, remoteAddress: '127.0.0.1', lastActivityMs: 0, frameStartedMs: null, handlingRequest: false, pausedFor: null, ...o,
});
const timeouts = { requestBodyTimeoutMs: 1_000, connectionsMaxIdleMs: 10_000 };
const quotas: ConnectionQuotas = { maxConnections: 3, maxConnectionsPerIp: 2_147_483_647, maxConnectionsPerIpOverrides: {} };

describe('connection limits', () => {
  it('closes a connection whose frame body is late, unless the broker kept it paused', () => {
    const late = conn(1, { frameStartedMs: 0, lastActivityMs: 500 });
    const pausedByBroker = conn(2, { frameStartedMs: 0, pausedFor: 'pool' });
    const pausedForResponses = conn(3, { frameStartedMs: 0, pausedFor: 'responses' });
    const onTime = conn(4, { frameStartedMs: 600 });
    expect(expiredConnections([late, pausedByBroker, pausedForResponses, onTime], 1_500, timeouts).map((d) => [d.id, d.reason]))
      .toEqual([[1, 'request-body-timeout']]);
  });

  it('closes idle connections, but not one handling a request or paused by the broker; a client that does not read its responses counts as idle', () => {
    const cs = [
      conn(1),
      conn(2, { handlingRequest: true }),
      conn(3, { pausedFor: 'share' }),
      conn(4, { pausedFor: 'responses' }),
      conn(5, { lastActivityMs: 5_000 }),
    ];
    expect(expiredConnections(cs, 10_000, timeouts).map((d) => [d.id, d.reason])).toEqual([[1, 'idle'], [4, 'idle']]);
    expect(expiredConnections(cs, 10_000, { requestBodyTimeoutMs: -1, connectionsMaxIdleMs: -1 })).toEqual([]);
  });

  it('at max-connections evicts the longest idle connection that is not handling a request, and refuses when all are busy', () => {
    const cs = [conn(1, { lastActivityMs: 50, handlingRequest: true }), conn(2, { lastActivityMs: 100 }), conn(3, { lastActivityMs: 70 })];
    expect(admitConnection('10.0.0.1', 0, 2, () => cs.slice(0, 2), quotas, 1_000)).toEqual({ admit: true, evict: null });
    const full = admitConnection('10.0.0.1', 0, 3, () => cs, quotas, 1_000);
    expect(full.admit && full.evict?.id).toBe(3);
    const busy = cs.map((c) => ({ ...c, handlingRequest: true }));
    expect(admitConnection('10.0.0.1', 0, 3, () => busy, quotas, 1_000)).toMatchObject({ admit: false, reason: 'max-connections' });
    expect(longestIdle([], 0)).toBeNull();
  });

  it('refuses past an address quota, with per-address overrides', () => {
    const q: ConnectionQuotas = { maxConnections: 100, maxConnectionsPerIp: 2, maxConnectionsPerIpOverrides: { '10.0.0.9': 5 } };
    expect(admitConnection('10.0.0.1', 2, 0, () => [], q, 0)).toMatchObject({ admit: false, reason: 'max-connections-per-ip' });
    expect(admitConnection('10.0.0.9', 2, 0, () => [], q, 0)).toMatchObject({ admit: true });
    expect(admitConnection('10.0.0.9', 5, 0, () => [], q, 0)).toMatchObject({ admit: false });
    expect(normalizeAddress('::ffff:10.0.0.9')).toBe('10.0.0.9');
    expect(normalizeAddress('::1')).toBe('::1');
    expect(parseConnectionOverrides('10.0.0.9:5, [::1]:7,host.example:0')).toEqual({ '10.0.0.9': 5, '::1': 7, 'host.example': 0 });
    expect(() => parseConnectionOverrides('10.0.0.9')).toThrow(/address:count/);
  });

  it('sweeps at a quarter of the shortest timeout, between 10 ms and 1 s', () => {
    expect(sweepIntervalMs({ requestBodyTimeoutMs: 30_000, connectionsMaxIdleMs: 600_000 })).toBe(1_000);
    expect(sweepIntervalMs({ requestBodyTimeoutMs: 2_000, connectionsMaxIdleMs: -1 })).toBe(500);
    expect(sweepIntervalMs({ requestBodyTimeoutMs: -1, connectionsMaxIdleMs: -1 })).toBeNull();
  });

  it('the response budget wakes waiters once it drops back under its maximum', () => {
    const b = new ResponseBudget(100);
    let woken = 0;
    b.add(150);
    expect(b.over).toBe(true);
    b.waitForRoom(() => woken++);
    b.remove(20);
    expect(woken).toBe(0);
    b.remove(40);
    expect([b.over, woken, b.queuedBytes, b.peakBytes]).toEqual([false, 1, 90, 150]);
  });
});

describe('request pool', () => {
  it('counts bytes as they arrive and lets one holder at a time finish a frame past the budget', () => {
    const pool = new MemoryPool(100);
    const a = {};
    const b = {};
    pool.add(100);
    expect(pool.full).toBe(true);
    expect(pool.claimProgress(a)).toBe(true);
    expect(pool.claimProgress(a)).toBe(true);
    expect(pool.claimProgress(b)).toBe(false);
    let woken = 0;
    pool.waitForRoom(() => woken++);
    pool.yieldProgress(b); // not the holder: nothing happens
    expect(woken).toBe(0);
    pool.yieldProgress(a);
    expect(woken).toBe(1);
    expect(pool.claimProgress(b)).toBe(true);
    pool.waitForRoom(() => woken++);
    pool.release(1);
    expect([pool.full, woken, pool.used, pool.peak]).toEqual([false, 2, 99, 100]);
  });
});
