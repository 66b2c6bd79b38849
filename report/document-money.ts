/**
 * The report section "Monthly cost": the throughput runner's cost point turned into a month of
 * resources per layout and, with the scenario's unit prices, into money (money.ts computes it).
 * Without prices it says so and shows no money; memory absent from older reports is named as not
 * measured, never guessed.
 */
import { left, list, paragraph, right, table, type Block, type Section } from './document-model.ts';
import { formatNumber, MISSING } from './format.ts';
import type { Report } from './model.ts';
import { GIB, MONTH_S, monthsOf, PRICE_OF, pricesOf, RESOURCES, type LayoutMonth, type Prices, type Resource } from './money.ts';

const LABEL: Readonly<Record<Resource, string>> = {
  cpu: 'CPU', memory: 'memory (resident)', disk: 'written to disk', network: 'sent over sockets (as network)',
};
const UNIT: Readonly<Record<Resource, string>> = {
  cpu: 'core-hours', memory: 'GiB held', disk: 'GiB', network: 'GiB',
};
const PRICE_UNIT: Readonly<Record<Resource, string>> = {
  cpu: 'per core-hour', memory: 'per GiB-month', disk: 'per GiB written', network: 'per GiB sent',
};

const amount = (v: number | null): string => (v === null ? MISSING : formatNumber(Number(v.toPrecision(3))));

export function formatMoney(v: number, currency: string | null): string {
  const text = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(v);
  return currency ? `${currency} ${text}` : text;
}

function moneyCell(l: LayoutMonth, res: Resource, prices: Prices): string {
  if (res === 'memory' && l.amounts.memory === null) return 'not measured in this run';
  if (prices[PRICE_OF[res]] === null) return 'no price given';
  const v = l.money[res];
  return v === null ? MISSING : formatMoney(v, prices.currency);
}

function formulaItems(orders: string): string[] {
  return [
    `CPU core-hours = (idle CPU-ms/s × ${formatNumber(MONTH_S)} s + (CPU-ms per order − idle CPU-ms/s ÷ cost rate) × ${orders}) ÷ 3,600,000: `
      + 'the idle CPU runs all month, each order adds its CPU above idle (at the measured rate this is CPU-ms per order × orders).',
    'memory GiB = the landscape\'s resident memory at the cost rate (the sum of its processes\' VmRSS) ÷ 2³⁰, held all month.',
    `disk GiB = disk bytes written per order × ${orders} ÷ 2³⁰.`,
    `network GiB = socket and pipe bytes per order × ${orders} ÷ 2³⁰: every byte a process wrote to a socket or pipe, as if each crossed the network `
      + '(on one machine they stayed on loopback).',
    'money = amount × its unit price; the total adds the priced resources. Each figure is the median over the runs with a cost point, '
      + 'so the total (the median of the runs\' totals) need not equal the sum of the medians.',
  ];
}

function volumeText(r: Report, months: readonly LayoutMonth[], prices: Prices | null): string {
  const rate = r.runners.throughput!.method.costRatePerS;
  if (!prices?.ordersPerMonth) {
    return `The month priced is the cost point's rate, ${formatNumber(rate)} orders/s, sustained for 30 days (${formatNumber(rate * MONTH_S)} orders); `
      + 'a scenario sets another volume with prices.ordersPerMonth.';
  }
  const perS = prices.ordersPerMonth / MONTH_S;
  const beyond = months.filter((l) => l.sustainedPerS !== null && perS > l.sustainedPerS)
    .map((l) => `${l.layout} (sustained ${formatNumber(l.sustainedPerS)} orders/s)`);
  return `The month priced is ${formatNumber(prices.ordersPerMonth)} orders (prices.ordersPerMonth), ${formatNumber(Number(perS.toPrecision(3)))} orders/s on average; `
    + `the cost was measured at ${formatNumber(rate)} orders/s, and the CPU above idle, the disk and the network bytes are scaled linearly from it, `
    + 'which assumes an order costs the same at that rate.'
    + (beyond.length > 0 ? ` That rate is above the highest rate the measured landscape sustained in ${beyond.join(', ')}.` : '');
}

function amountsTable(months: readonly LayoutMonth[]): Block {
  return table({
    id: 'money-amounts', caption: 'Resources for a month, per layout (medians over the runs)',
    columns: [left('resource'), left('unit'), ...months.map((l) => right(l.layout))],
    rows: RESOURCES.map((res) => [LABEL[res], UNIT[res], ...months.map((l) => (res === 'memory' && l.amounts.memory === null ? 'not measured in this run' : amount(l.amounts[res])))]),
  });
}

function moneyTable(months: readonly LayoutMonth[], prices: Prices): Block {
  const price = (res: Resource): string => {
    const p = prices[PRICE_OF[res]];
    return p === null ? 'not given' : `${formatNumber(p)} ${PRICE_UNIT[res]}`;
  };
  return table({
    id: 'money-monthly', caption: `Monthly cost per layout${prices.currency ? ` in ${prices.currency}` : ' (no currency given)'} (medians over the runs)`,
    columns: [left('resource'), left('unit price'), ...months.map((l) => right(l.layout))],
    rows: [
      ...RESOURCES.map((res) => [LABEL[res], price(res), ...months.map((l) => moneyCell(l, res, prices))]),
      ['total (priced resources)', '', ...months.map((l) => (l.total === null ? MISSING : formatMoney(l.total, prices.currency)))],
    ],
  });
}

/** The section; null when the throughput runner did not run (there is no cost to price). */
export function moneySection(r: Report): Section | null {
  const t = r.runners.throughput;
  if (!t) return null;
  const { prices, problems } = pricesOf(r);
  const months = monthsOf(r, prices);
  const blocks: Block[] = [];
  const withCost = months.filter((l) => l.months.length > 0);
  if (!prices) {
    blocks.push(paragraph('No prices were given, so this report shows no money. A scenario file\'s prices: block (currency, cpuCoreHour, '
      + 'memoryGiBMonth, diskWrittenGiB, networkGiB, and optionally ordersPerMonth) turns the resources below into a monthly figure; nothing is bundled.'));
  }
  if (problems.length > 0) blocks.push(list(problems));
  if (withCost.length === 0) {
    blocks.push(paragraph('No run has a cost point (a run whose cost rate was not sustained has none), so there is nothing to price.'));
    return { id: 'money', title: 'Monthly cost', blocks };
  }
  const orders = prices?.ordersPerMonth ? 'orders per month' : 'orders in 30 days at the cost rate';
  blocks.push(paragraph(volumeText(r, withCost, prices)));
  if (withCost.some((l) => l.amounts.memory === null)) {
    blocks.push(paragraph('Memory: not measured in this run for '
      + `${withCost.filter((l) => l.amounts.memory === null).map((l) => l.layout).join(' and ')} (reports made before the resident memory was recorded)${prices ? ', so it is left out of the total' : ''}.`));
  }
  blocks.push(amountsTable(withCost));
  if (prices) blocks.push(moneyTable(withCost, prices));
  blocks.push(paragraph('How each figure is computed:'), list(formulaItems(orders)));
  blocks.push(paragraph(`A GiB is ${formatNumber(GIB)} bytes; a month is 30 days. Prices are the scenario's own; `
    + 'the figures price what this machine measured, not a sized production deployment.'));
  return { id: 'money', title: 'Monthly cost', blocks };
}
