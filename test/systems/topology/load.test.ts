import { describe, expect, it } from 'vitest';
import { loadTopology, parseTopology, restPolicy, amqpPrefetch, TopologyError } from '../../../systems/topology/index.ts';
import { MINIMAL, SHOP_FILE, fixture, topologyError } from './helpers.ts';

describe('loading scenarios/topologies/shop.yaml', () => {
  const shop = loadTopology(SHOP_FILE);

  it('has systems A–I in order, G, H and I joining late', () => {
    expect(shop.name).toBe('shop');
    expect(shop.systems.map((s) => s.id)).toEqual(['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I']);
    expect(shop.systems.filter((s) => s.joinsLate).map((s) => s.id)).toEqual(['G', 'H', 'I']);
    expect(shop.systems.filter((s) => s.role === 'ingress').map((s) => s.id)).toEqual(['A']);
  });

  it('has one originating system per data kind and modest per-message costs, and a rule for every kind a flow brings', () => {
    const origin = Object.fromEntries(shop.dataKinds.map((k) => [k.id, shop.systems.filter((s) => s.produces.includes(k.id)).map((s) => s.id)]));
    expect(origin).toEqual({
      order: ['A'], payment: ['B'], reservation: ['C'], shipment: ['D'], customer: ['E'],
      invoice: ['F'], insight: ['G'], notification: ['H'], 'risk-score': ['I'],
    });
    for (const s of shop.systems) expect(s.costPerMessageUs).toBeGreaterThanOrEqual(50);
    for (const s of shop.systems) expect(s.costPerMessageUs).toBeLessThanOrEqual(500);
    for (const f of shop.flows) expect(shop.systems.find((s) => s.id === f.to)!.rules.map((r) => r.input), f.id).toContain(f.data);
    expect(shop.systems.find((s) => s.id === 'F')!.rules[0].emit[0].when).toBe("status == 'authorized'");
  });

  it('keeps the heterogeneity: every transport and every format, lake exports in mixed formats', () => {
    expect(new Set(shop.flows.map((f) => f.legacy.transport))).toEqual(new Set(['rest-sync', 'rest-poll', 'amqp', 'batch']));
    expect(new Set(shop.flows.map((f) => f.legacy.format))).toEqual(new Set(['json', 'xml', 'csv']));
    expect(new Set(shop.systems.map((s) => s.lakeExport?.format))).toEqual(new Set(['json', 'xml', 'csv']));
    const a = (to: string) => shop.flows.find((f) => f.from === 'A' && f.to === to)?.legacy.transport;
    expect([a('B'), a('C'), a('H'), a('I'), a('E'), a('G')]).toEqual(['rest-sync', 'rest-sync', 'rest-sync', 'rest-sync', 'batch', 'batch']);
    expect(shop.flows.find((f) => f.from === 'B' && f.to === 'F')?.legacy).toMatchObject({ transport: 'rest-poll', scheduleMs: 1000 });
  });

  it('fills REST and AMQP policies from defaults unless a flow overrides them', () => {
    const flow = (id: string) => shop.flows.find((f) => f.id === id)!;
    expect(restPolicy(shop, flow('a-b-payment'))).toEqual({ timeoutMs: 2000, retries: 2 });
    expect(restPolicy(shop, flow('a-i-score'))).toEqual({ timeoutMs: 1500, retries: 0 });
    expect(amqpPrefetch(shop, flow('c-d-pick'))).toBe(50);
    expect(amqpPrefetch(shop, flow('b-i-payments'))).toBe(20);
  });

  it('returns a frozen topology', () => {
    expect(Object.isFrozen(shop.systems[0].produces)).toBe(true);
    expect(Object.isFrozen(shop.systems[1].rules[0].emit[0].fields)).toBe(true);
    expect(Object.isFrozen(shop.flows[0].legacy)).toBe(true);
  });
});

describe('parseTopology', () => {
  it('fills optional parts with defaults', () => {
    const t = parseTopology(MINIMAL, 'mini.yaml');
    expect(t.defaults).toEqual({ restTimeoutMs: 2000, restRetries: 2, amqpPrefetch: 50 });
    expect(t.lake).toEqual({ hub: { format: 'jsonl', partitionBy: ['topic', 'date'] } });
    expect(t.systems[1]).toMatchObject({ role: 'service', joinsLate: false, produces: ['payment'] });
    expect(t.systems[2].produces).toEqual([]);
  });

  it('accepts a system relaying a data kind it receives, through a rule that emits it again', () => {
    const relay = MINIMAL
      .replace('on: { order: { emit: [ { kind: payment, fields: { amount: "${total}" } } ] } }', 'on: { order: { emit: [ { kind: payment, fields: { amount: "${total}" } }, { kind: order } ] } }')
      .replace('on: { payment: {} }', 'on: { payment: {}, order: {} }')
      + '  - { id: b-c-orders, from: B, to: C, data: order, legacy: { transport: batch, format: csv, scheduleMs: 500 } }\n';
    const t = parseTopology(relay, 'relay.yaml');
    expect(t.flows).toHaveLength(3);
    expect(t.systems[1].produces).toEqual(['payment', 'order']);
  });

  it('derives the role and what a system produces from its ingress, sources and rules', () => {
    const t = parseTopology(MINIMAL.replace(' role: ingress,', ''), 'mini.yaml');
    expect(t.systems.map((s) => s.role)).toEqual(['ingress', 'service', 'service']);
    expect(t.systems[0]).toMatchObject({ instances: 1, produces: ['order'], ingress: [{ kind: 'order', weight: 1 }] });
    expect(t.systems[1].rules[0]).toMatchObject({ input: 'order', costUs: 100, delayMs: 0 });
    expect(t.systems[1].rules[0].emit[0].fields).toEqual([{ name: 'amount', value: { expression: 'total' } }]);
    expect(t.systems[0].ingress[0].fields[0]).toEqual({ name: 'orderId', value: { expression: 'o-${n}', template: true } });
  });
});

describe('loadTopology errors', () => {
  it('names the file for a missing file', () => {
    const error = topologyError(() => loadTopology(fixture('no-such-file.yaml')));
    expect(error).toBeInstanceOf(TopologyError);
    expect(error.message).toMatch(/no-such-file\.yaml:1:1: cannot read the file/);
  });

  it('shows a path relative to the working directory', () => {
    const error = topologyError(() => loadTopology(fixture('syntax-error.yaml')));
    expect(error.file).toBe('test/systems/topology/fixtures/syntax-error.yaml');
  });
});
