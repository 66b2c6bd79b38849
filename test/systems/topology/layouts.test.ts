import { describe, expect, it } from 'vitest';
import {
  adaptersPerSystem, hubLayout, legacyLinks, loadTopology, parseTopology, protocolsAndFormats, restrictTo, restrictToFirst, serializeTopology, withJsonFormats,
} from '../../../systems/topology/index.ts';
import { MINIMAL, SHOP_FILE, topologyError } from './helpers.ts';

const shop = loadTopology(SHOP_FILE);

describe('legacy layout of the shop', () => {
  const legacy = legacyLinks(shop);

  it('has one link per flow plus one lake export per system', () => {
    expect(legacy.links.filter((l) => l.kind === 'flow')).toHaveLength(shop.flows.length);
    expect(legacy.links.filter((l) => l.kind === 'lake-export').map((l) => l.from)).toEqual(shop.systems.map((s) => s.id));
    expect(legacy.links).toHaveLength(15 + 9);
    expect(legacy.links.find((l) => l.id === 'D-lake-export')).toMatchObject({ to: 'lake', transport: 'batch', format: 'xml', data: ['shipment'] });
  });

  it('counts distinct pairs: C and D talk both ways over one pair', () => {
    expect(legacy.systemPairCount).toBe(14);
    expect(legacy.pairs).toHaveLength(14 + 9);
    expect(legacy.pairs).toContainEqual(['C', 'D']);
    expect(legacy.pairs).not.toContainEqual(['D', 'C']);
  });

  it('speaks three protocols and three formats, each system several adapters', () => {
    expect(protocolsAndFormats(shop, 'legacy')).toEqual({ protocols: ['amqp', 'file', 'http'], formats: ['csv', 'json', 'xml'], lakeFileFormats: ['csv', 'json', 'xml'] });
    const adapters = Object.fromEntries(adaptersPerSystem(shop, 'legacy').map((a) => [a.systemId, a.adapters]));
    expect(adapters).toEqual({ A: 3, B: 4, C: 4, D: 2, E: 1, F: 2, G: 3, H: 4, I: 3 });
    const a = adaptersPerSystem(shop, 'legacy')[0];
    expect(a.speaks).toEqual([{ transport: 'batch', format: 'csv' }, { transport: 'batch', format: 'json' }, { transport: 'rest-sync', format: 'json' }]);
  });
});

describe('hub layout of the shop', () => {
  const hub = hubLayout(shop);

  it('has one topic per data kind with its producers', () => {
    expect(hub.topics.map((t) => t.name)).toEqual([
      'shop.orders', 'shop.payments', 'shop.reservations', 'shop.shipments', 'shop.customers',
      'shop.invoices', 'shop.insights', 'shop.notifications', 'shop.risk-scores',
    ]);
    expect(hub.topics[0]).toEqual({ name: 'shop.orders', dataKind: 'order', key: 'orderId', producers: ['A'] });
  });

  it('subscribes each system to the kinds that flow to it in the legacy layout', () => {
    const subs = Object.fromEntries(hub.systems.map((s) => [s.systemId, s.subscribes]));
    expect(subs.A).toEqual([]);
    expect(subs.G).toEqual(['shop.customers', 'shop.orders', 'shop.reservations']);
    expect(subs.H).toEqual(['shop.orders', 'shop.payments', 'shop.shipments']);
    expect(subs.I).toEqual(['shop.orders', 'shop.payments']);
    expect(hub.systems[1].groupId).toBe('shop.system-B');
    expect(hub.lakeSink).toEqual({ groupId: 'shop.lake-sink', subscribes: hub.topics.map((t) => t.name), format: 'jsonl', partitionBy: ['topic', 'date'] });
  });

  it('links every system and the lake sink to the hub, and only to the hub', () => {
    expect(hub.links).toHaveLength(shop.systems.length + 1);
    expect(new Set(hub.links.map((l) => l.to))).toEqual(new Set(['hub']));
    expect(hub.links.length).toBeLessThan(legacyLinks(shop).links.length);
    expect(protocolsAndFormats(shop, 'hub')).toEqual({ protocols: ['kafka'], formats: ['json'], lakeFileFormats: ['jsonl'] });
    expect(adaptersPerSystem(shop, 'hub').every((a) => a.adapters === 1)).toBe(true);
  });

  it('takes a topic prefix', () => {
    const prefixed = hubLayout(shop, { topicPrefix: 'run7-' });
    expect(prefixed.topics[8].name).toBe('run7-risk-scores');
    expect(prefixed.systems[0].groupId).toBe('run7-system-A');
    expect(prefixed.lakeSink.groupId).toBe('run7-lake-sink');
  });
});

describe('restrictTo', () => {
  it.each([3, 4, 5, 6, 7, 8, 9])('the first %i systems form a valid landscape, legacy links > hub links', (n) => {
    const sub = restrictToFirst(shop, n);
    expect(sub.systems.map((s) => s.id)).toEqual(shop.systems.slice(0, n).map((s) => s.id));
    const ids = new Set(sub.systems.map((s) => s.id));
    for (const f of sub.flows) expect(ids.has(f.from) && ids.has(f.to)).toBe(true);
    const hub = hubLayout(sub);
    expect(hub.topics).toHaveLength(n);
    expect(hub.links).toHaveLength(n + 1);
    expect(legacyLinks(sub).links.length).toBeGreaterThan(hub.links.length);
    for (const topic of hub.topics) expect(topic.producers.length).toBeGreaterThan(0);
  });

  it('grows the legacy links faster than the hub links', () => {
    const counts = [3, 4, 5, 6, 7, 8, 9].map((n) => {
      const sub = restrictToFirst(shop, n);
      return [legacyLinks(sub).links.length, hubLayout(sub).links.length];
    });
    expect(counts).toEqual([[5, 4], [8, 5], [10, 6], [13, 7], [17, 8], [21, 9], [24, 10]]);
  });

  it('keeps the systems\' rules and drops the flows of dropped systems; a topic only for what is still made', () => {
    const sub = restrictTo(shop, ['A', 'C', 'D']);
    expect(sub.flows.map((f) => f.id)).toEqual(['a-c-stock', 'c-d-pick', 'd-c-shipped']);
    expect(sub.systems.find((x) => x.id === 'C')!.rules.map((r) => r.input)).toEqual(['order', 'shipment']);
    expect(hubLayout(sub).topics.map((t) => t.dataKind)).toEqual(['order', 'reservation', 'shipment']);
  });

  it('refuses unknown systems and sub-landscapes that are not valid', () => {
    expect(topologyError(() => restrictTo(shop, ['A', 'X'])).message).toMatch(/system "X" not in the topology \(systems: A, B, C/);
    const t = parseTopology(MINIMAL, 'mini.yaml');
    expect(topologyError(() => restrictTo(t, ['B', 'C'])).message).toMatch(/no system takes input from outside/);
  });
});

describe('withJsonFormats (the formats=json practice)', () => {
  it('turns every legacy link and lake export into JSON, keeping flows and transports', () => {
    const declared = protocolsAndFormats(shop, 'legacy');
    expect(declared.formats.length).toBeGreaterThan(1);
    const json = withJsonFormats(shop);
    expect(protocolsAndFormats(json, 'legacy')).toEqual({ protocols: declared.protocols, formats: ['json'], lakeFileFormats: ['json'] });
    expect(json.flows.map((f) => [f.id, f.from, f.to, f.legacy.transport])).toEqual(shop.flows.map((f) => [f.id, f.from, f.to, f.legacy.transport]));
    expect(adaptersPerSystem(json, 'legacy').every((s) => s.speaks.every((x) => x.format === 'json'))).toBe(true);
  });
  it('leaves the declared file untouched and round-trips through the topology format', () => {
    const json = withJsonFormats(shop);
    expect(shop.flows.some((f) => f.legacy.format !== 'json')).toBe(true);
    expect(parseTopology(serializeTopology(json), '<json>', { derived: true }).flows.every((f) => f.legacy.format === 'json')).toBe(true);
  });
});
