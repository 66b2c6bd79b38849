// The operational surface counted from the sample report (fixture.ts: the shop A–I, its 15 flows and 9
// lake exports; its summary names only the protocol of a REST flow, http, so sync and poll are not told
// apart) against a count made by hand, flow by flow.
import { describe, expect, it } from 'vitest';
import { operationalSection } from '../../report/document-operational.ts';
import { operationalCounts, transportOf } from '../../report/operational.ts';
import { sampleReport } from './fixture.ts';

// The fixture's flows:
//   http (sync or poll): a-b A→B, a-c A→C, a-h A→H, a-i A→I, b-f B→F, c-g C→G          6
//   amqp:                b-h B→H, b-i B→I, c-d C→D, d-c D→C, d-h D→H                    5
//   file (batch):        a-e A→E, a-g A→G, e-g E→G, f-e F→E                             4
//   lake exports: A–I                                                                   9
const HAND_COUNT: Record<string, [number, number]> = {
  // 9 systems + RabbitMQ; 9 systems + broker + lake sink
  'deployable units': [10, 11],
  // one per http flow (sync or poll unknown); none in the hub
  'HTTP endpoints others call': [6, 0],
  // inboxes of E and G, and the lake folder; the hub's lake folder
  'shared folders written by another party': [3, 1],
  // http pairs 6 + AMQP users B, C, D, H, I 5 + batch (A,E) (A,G) (E,G) (F,E) 4 + 9 lake exporters = 24; hub 9 systems + lake sink twice = 11
  'credentials and addresses to manage': [24, 11],
  // queue and dead-letter queue per AMQP flow
  queues: [10, 0],
  // one per data kind: order, payment, reservation, shipment, customer, invoice, insight, notification, risk-score
  topics: [0, 9],
  // one per flow; groups of B, C, D, E, F, G, H, I and the lake sink
  'receivers to run': [15, 9],
  // 10 units + 15 flows + 9 exports; 11 units + 9 groups
  'things to monitor': [34, 20],
  // RabbitMQ + http receivers B, C, F, G, H, I + inboxes of E and G + lake folder; the broker's metrics
  'places a failure can show up': [10, 1],
  // RabbitMQ + AMQP receivers C, D, H, I; broker + 8 groups + lake sink
  'components one watched place can name': [5, 10],
  // connections run at n = 9: the fixture lists the systems (legacy) and the systems, lake sink and broker (hub)
  'processes seen': [9, 11],
  // 6 http flows × 2 + 5 AMQP users; 9 systems × 2 + 1
  'live TCP connections': [17, 19],
  'connected process pairs': [11, 10],
  // legacy: C, D and rabbitmq of 6; hub: all 7
  'failures one watched place named': [3, 7],
};

describe('operationalCounts', () => {
  const rows = operationalCounts(sampleReport());

  it('matches the hand count, row by row', () => {
    expect(Object.fromEntries(rows.map((r) => [r.item, [r.legacy, r.hub]]))).toEqual(HAND_COUNT);
    for (const r of rows) expect(r.countedAs.length, r.item).toBeGreaterThan(20);
  });

  it('tells the REST transports apart when the report names them (as runs write them)', () => {
    const r = sampleReport();
    const transports: Record<string, string> = { 'a-b-payment': 'rest-sync', 'a-c-stock': 'rest-sync', 'a-h-webhook': 'rest-sync', 'a-i-score': 'rest-sync', 'b-f-payments': 'rest-poll', 'c-g-stock': 'rest-poll' };
    for (const l of r.topology.legacyLinks) if (transports[l.id]) l.protocol = transports[l.id];
    expect(transportOf(r.topology.legacyLinks[0])).toBe('rest-sync');
    const counts = Object.fromEntries(operationalCounts(r).map((x) => [x.item, x.legacy]));
    // 4 routes (a-b, a-c, a-h, a-i on their receivers) + feeds of B's payments and C's reservations.
    expect(counts['HTTP endpoints others call']).toBe(6);
    // Callers A (4 routes) and pollers F and G see REST failures: A, F, G + RabbitMQ + inboxes of E and G + lake folder.
    expect(counts['places a failure can show up']).toBe(7);
  });

  it('is a section with a "counted as" column, and leaves out what no run measured', () => {
    const r = sampleReport();
    delete r.runners.failures;
    delete r.runners.connections;
    const s = operationalSection(r)!;
    const t = s.blocks.find((b) => b.kind === 'table');
    expect(t?.kind === 'table' && t.table.columns.map((c) => c.label)).toEqual(['item', 'legacy', 'hub', 'from', 'counted as']);
    expect(t?.kind === 'table' && t.table.rows.every((row) => row[3] === 'topology')).toBe(true);
  });
});
