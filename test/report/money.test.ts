// The monthly cost block: a hand-made cost point priced by hand (CPU from idle and per-order CPU,
// resident memory, disk and socket bytes), medians over runs, a given monthly volume, memory not
// measured in an older report, and no money at all without prices.
import { describe, expect, it } from 'vitest';
import { moneySection } from '../../report/document-money.ts';
import type { Block } from '../../report/document-model.ts';
import type { Report } from '../../report/model.ts';
import type { ThroughputRun } from '../../report/model-throughput.ts';
import { GIB, monthsOf, PRICE_FIELDS, pricesOf, runMonth } from '../../report/money.ts';
import { pricesSchema } from '../../scenarios/settings.ts';
import { sampleReport } from './fixture.ts';

const PRICES = { currency: 'EUR', cpuCoreHour: 0.05, memoryGiBMonth: 4, diskWrittenGiB: 0.1, networkGiB: 0.02 };

/** The sample report with cost points at 10 orders/s: idle 100 CPU-ms/s, 1 KiB to disk and 2 KiB to sockets per order, 2 GiB resident (legacy only). */
function pricedReport(prices: Record<string, unknown> | undefined, cpuMsPerOrder = [30, 36, 40]): Report {
  const r = sampleReport();
  const t = r.runners.throughput!;
  t.method.costRatePerS = 10;
  for (const l of t.layouts) {
    const base = l.runs[0];
    l.runs = cpuMsPerOrder.map((cpu, i): ThroughputRun => ({
      ...base, run: i + 1,
      idle: { ...base.idle, totalCpuMsPerS: 100 },
      cost: { ...base.cost!, ratePerS: 10, cpuMsPerOrder: cpu, diskBytesPerOrder: 1024, socketBytesPerOrder: 2048, ...(l.layout === 'legacy' ? { rssBytesTotal: 2 * GIB } : {}) },
    }));
  }
  if (prices) r.scenario.settings.prices = prices;
  return r;
}

const tableRows = (blocks: Block[], id: string): string[][] => {
  const b = blocks.find((x) => x.kind === 'table' && x.table.id === id);
  if (!b || b.kind !== 'table') throw new Error(`no table ${id}`);
  return b.table.rows;
};

describe('runMonth', () => {
  it('prices a month at the cost rate as worked out by hand', () => {
    // A month: 30 days = 2,592,000 s; at 10 orders/s, 25,920,000 orders.
    // CPU: idle 100 ms/s × 2,592,000 s = 259,200,000 ms, plus (36 − 100/10) = 26 ms × 25,920,000 = 673,920,000 ms;
    //      933,120,000 ms = 259.2 core-hours (= 36 ms × 25,920,000); × 0.05 = 12.96
    // memory: 2 GiB × 4 = 8
    // disk: 1024 B × 25,920,000 = 26,542,080,000 B = 24.71923828125 GiB; × 0.1 = 2.471923828125
    // network: 2048 B × 25,920,000 = 49.4384765625 GiB; × 0.02 = 0.98876953125
    // total: 24.420693359375
    const r = pricedReport(PRICES);
    const m = runMonth(r.runners.throughput!.layouts[0].runs[1], pricesOf(r).prices)!;
    expect(m.ordersPerMonth).toBe(25_920_000);
    expect(m.amounts.cpu).toBeCloseTo(259.2, 9);
    expect(m.money).toEqual({ cpu: expect.closeTo(12.96, 9), memory: 8, disk: expect.closeTo(2.471923828125, 9), network: expect.closeTo(0.98876953125, 9) });
    expect(m.total).toBeCloseTo(24.420693359375, 9);
  });

  it('scales to a given monthly volume: idle all month, the rest per order', () => {
    // 1,048,576 orders: CPU (100 × 2,592,000 + 26 × 1,048,576) ms = 286,462,976 ms = 79.5730488… core-hours; × 0.05 = 3.9786524…
    // disk 1 GiB × 0.1 = 0.1; network 2 GiB × 0.02 = 0.04; memory 8; total 12.1186524…
    const r = pricedReport({ ...PRICES, ordersPerMonth: 1_048_576 });
    const m = runMonth(r.runners.throughput!.layouts[0].runs[1], pricesOf(r).prices)!;
    expect(m.amounts).toEqual({ cpu: expect.closeTo(286_462_976 / 3_600_000, 9), memory: 2, disk: 1, network: 2 });
    expect(m.total).toBeCloseTo(286_462_976 / 3_600_000 * 0.05 + 8 + 0.1 + 0.04, 9);
  });
});

describe('moneySection', () => {
  it('shows per layout the monthly figure by resource and the total, medians over the runs', () => {
    const r = pricedReport(PRICES);
    const [legacy, hub] = monthsOf(r, pricesOf(r).prices);
    expect(legacy.months).toHaveLength(3);
    // The runs' CPU: 30, 36, 40 ms per order; the median month is the 36 ms one.
    expect(legacy.money.cpu).toBeCloseTo(12.96, 9);
    expect(hub.amounts.memory).toBeNull();
    const s = moneySection(r)!;
    expect(tableRows(s.blocks, 'money-monthly')).toEqual([
      ['CPU', '0.05 per core-hour', 'EUR 12.96', 'EUR 12.96'],
      ['memory (resident)', '4 per GiB-month', 'EUR 8.00', 'not measured in this run'],
      ['written to disk', '0.1 per GiB written', 'EUR 2.47', 'EUR 2.47'],
      ['sent over sockets (as network)', '0.02 per GiB sent', 'EUR 0.99', 'EUR 0.99'],
      ['total (priced resources)', '', 'EUR 24.42', 'EUR 16.42'],
    ]);
    const text = JSON.stringify(s.blocks);
    expect(text).toContain('CPU core-hours = (idle CPU-ms/s × 2,592,000 s');
    expect(text).toContain('Memory: not measured in this run for hub');
  });

  it('shows no money without prices, and says so', () => {
    const s = moneySection(pricedReport(undefined))!;
    const text = JSON.stringify(s.blocks);
    expect(text).toContain('No prices were given, so this report shows no money');
    expect(text).not.toMatch(/EUR|money-monthly/);
    expect(tableRows(s.blocks, 'money-amounts')[0]).toEqual(['CPU', 'core-hours', '259', '259']);
  });

  it('leaves out a price that is not a number of 0 or more, and has no section without the throughput runner', () => {
    const r = pricedReport({ currency: 'euro', cpuCoreHour: -1, networkGiB: 0.02 });
    const { prices, problems } = pricesOf(r);
    expect(prices).toMatchObject({ currency: null, cpuCoreHour: null, networkGiB: 0.02 });
    expect(problems).toHaveLength(2);
    delete r.runners.throughput;
    expect(moneySection(r)).toBeNull();
  });

  it('reads the prices block the scenario schema defines', () => {
    expect(Object.keys(pricesSchema.shape).sort()).toEqual([...PRICE_FIELDS].sort());
    expect(pricesSchema.safeParse({ currency: 'EUR', cpuCoreHour: -1 }).success).toBe(false);
    expect(pricesSchema.safeParse({ currency: 'EUR', cpuCoreHour: 0.04, ordersPerMonth: 1e6 }).success).toBe(true);
  });
});
