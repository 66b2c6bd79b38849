/**
 * What a month of the measured load would cost: the throughput runner's cost point (CPU per order,
 * idle CPU, disk and socket bytes per order, resident memory) turned into monthly resource amounts
 * and, with the unit prices the scenario gives (`prices:`, scenarios/settings.ts), into money.
 * Nothing is bundled: without prices there is no money. Pure functions of the Report.
 */
import type { Report } from './model.ts';
import type { ThroughputRun } from './model-throughput.ts';
import { summarize } from './stats.ts';

/** The fields of a scenario's `prices:` block (scenarios/settings.ts pricesSchema has exactly these). */
export const PRICE_FIELDS = ['currency', 'cpuCoreHour', 'memoryGiBMonth', 'diskWrittenGiB', 'networkGiB', 'ordersPerMonth'] as const;

export const MONTH_S = 30 * 24 * 3600;
export const GIB = 1024 ** 3;

export interface Prices {
  currency: string | null;
  cpuCoreHour: number | null;
  memoryGiBMonth: number | null;
  diskWrittenGiB: number | null;
  networkGiB: number | null;
  ordersPerMonth: number | null;
}

export type Resource = 'cpu' | 'memory' | 'disk' | 'network';
export const RESOURCES: readonly Resource[] = ['cpu', 'memory', 'disk', 'network'];
/** The price that applies to each resource. */
export const PRICE_OF: Readonly<Record<Resource, Exclude<keyof Prices, 'currency' | 'ordersPerMonth'>>> = {
  cpu: 'cpuCoreHour', memory: 'memoryGiBMonth', disk: 'diskWrittenGiB', network: 'networkGiB',
};

/** The report's prices, each checked; a field that is not a number ≥ 0 (orders > 0) is left out and named in `problems`. */
export function pricesOf(r: Report): { prices: Prices | null; problems: string[] } {
  const raw = r.scenario.settings.prices;
  if (raw === undefined || raw === null) return { prices: null, problems: [] };
  if (typeof raw !== 'object' || Array.isArray(raw)) return { prices: null, problems: ['the settings\' prices are not a block of named prices, so they were ignored'] };
  const o = raw as Record<string, unknown>;
  const problems: string[] = [];
  const num = (k: (typeof PRICE_FIELDS)[number], positive = false): number | null => {
    const v = o[k];
    if (v === undefined || v === null) return null;
    if (typeof v === 'number' && Number.isFinite(v) && (positive ? v > 0 : v >= 0)) return v;
    problems.push(`prices.${k} ${JSON.stringify(v)} is not a number ${positive ? 'above 0' : 'of 0 or more'}, so it was left out`);
    return null;
  };
  const currency = typeof o.currency === 'string' && /^[A-Z]{3}$/.test(o.currency) ? o.currency : null;
  if (o.currency !== undefined && currency === null) problems.push(`prices.currency ${JSON.stringify(o.currency)} is not a three-letter currency code, so none is shown`);
  const prices: Prices = {
    currency, cpuCoreHour: num('cpuCoreHour'), memoryGiBMonth: num('memoryGiBMonth'), diskWrittenGiB: num('diskWrittenGiB'),
    networkGiB: num('networkGiB'), ordersPerMonth: num('ordersPerMonth', true),
  };
  const any = RESOURCES.some((res) => prices[PRICE_OF[res]] !== null);
  return { prices: any ? prices : null, problems };
}

/** One run's month: resource amounts (memory null when not measured) and, where priced, money. */
export interface RunMonth {
  run: number;
  ordersPerMonth: number;
  amounts: Record<Resource, number | null>;
  money: Record<Resource, number | null>;
  /** The sum of the priced resources' money; null when none is priced. */
  total: number | null;
}

/**
 * One run's month at `ordersPerMonth` (default: the cost point's rate for 30 days). CPU: the idle
 * CPU runs all month, and each order adds its CPU above idle (cpuMsPerOrder − idle CPU-ms/s ÷ rate),
 * so at the measured rate this is exactly cpuMsPerOrder × orders. Memory: the processes' resident
 * memory at the cost point, held all month. Disk and network: bytes per order × orders.
 */
export function runMonth(run: ThroughputRun, prices: Prices | null): RunMonth | null {
  const c = run.cost;
  if (!c) return null;
  const orders = prices?.ordersPerMonth ?? c.ratePerS * MONTH_S;
  const idleMsPerS = run.idle.totalCpuMsPerS;
  const variableMsPerOrder = Math.max(0, c.cpuMsPerOrder - idleMsPerS / c.ratePerS);
  const amounts: Record<Resource, number | null> = {
    cpu: (idleMsPerS * MONTH_S + variableMsPerOrder * orders) / 1000 / 3600,
    memory: c.rssBytesTotal === undefined ? null : c.rssBytesTotal / GIB,
    disk: (c.diskBytesPerOrder * orders) / GIB,
    network: (c.socketBytesPerOrder * orders) / GIB,
  };
  const money = Object.fromEntries(RESOURCES.map((res) => {
    const price = prices?.[PRICE_OF[res]] ?? null;
    const amount = amounts[res];
    return [res, price === null || amount === null ? null : amount * price];
  })) as Record<Resource, number | null>;
  const priced = RESOURCES.flatMap((res) => (money[res] === null ? [] : [money[res]!]));
  return { run: run.run, ordersPerMonth: orders, amounts, money, total: priced.length === 0 ? null : priced.reduce((s, x) => s + x, 0) };
}

export interface LayoutMonth {
  layout: string;
  months: RunMonth[];
  /** Medians over the runs with a cost point (null: none has the figure). */
  amounts: Record<Resource, number | null>;
  money: Record<Resource, number | null>;
  total: number | null;
  /** Median of the highest sustained rates of the runs, orders/s. */
  sustainedPerS: number | null;
}

const medianOf = (xs: readonly (number | null)[]): number | null => summarize(xs.filter((x): x is number => x !== null))?.median ?? null;

/** Per layout: each run's month and the medians over the runs. */
export function monthsOf(r: Report, prices: Prices | null): LayoutMonth[] {
  const t = r.runners.throughput;
  if (!t) return [];
  return t.layouts.map((l) => {
    const months = l.runs.flatMap((run) => runMonth(run, prices) ?? []);
    const pick = (get: (m: RunMonth) => Record<Resource, number | null>): Record<Resource, number | null> =>
      Object.fromEntries(RESOURCES.map((res) => [res, medianOf(months.map((m) => get(m)[res]))])) as Record<Resource, number | null>;
    return {
      layout: l.layout, months, amounts: pick((m) => m.amounts), money: pick((m) => m.money), total: medianOf(months.map((m) => m.total)),
      sustainedPerS: medianOf(l.runs.map((run) => run.search.sustainedPerS)),
    };
  });
}
