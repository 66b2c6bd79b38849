/**
 * The document sections of the connections and onboarding runners: their full tables, every value
 * formatted (failures: document-failures.ts; throughput: document-throughput.ts).
 */
import { left, paragraph, right, table, type Block, type Section } from './document-model.ts';
import { formatList, formatNumber, MISSING, yesNo } from './format.ts';
import { connectionsHeadlineN } from './headline.ts';
import type { ConnectionsResult, Layout, OnboardingResult } from './model.ts';

const LAYOUTS: readonly Layout[] = ['legacy', 'hub'];
const ms = (v: number | null): string => (v === null ? MISSING : `${formatNumber(v)} ms`);

export const MODEL_DISCLAIMER = 'Every number in this section was measured. Their growth to larger landscapes is a model, not measurements: '
  + 'straight lines fitted to these points and a worst case, in the section Growth to large landscapes.';

export function connectionsSection(c: ConnectionsResult): Section {
  const n = connectionsHeadlineN(c);
  const blocks: Block[] = [
    paragraph('For each n the first n systems of the topology ran in each layout under light load; declared links come from the topology, '
      + 'live TCP connections were read from /proc while the landscape ran.'),
    paragraph(MODEL_DISCLAIMER),
    { kind: 'figures', group: 'connections' },
  ];
  for (const layout of LAYOUTS) {
    const points = c.points.filter((p) => p.layout === layout).sort((a, b) => a.n - b.n);
    if (points.length === 0) continue;
    blocks.push(table({
      id: `connections-${layout}`, caption: `${layout}: measured per n`,
      columns: [right('n'), left('systems'), right('declared links'), right('live TCP'), left('protocols'), left('formats'), right('adapters'), right('orders accepted / sent')],
      rows: points.map((p) => [String(p.n), p.systems.join(' '), formatNumber(p.declaredLinks), formatNumber(p.liveTcpTotal), formatList(p.protocols),
        formatList(p.formats), formatNumber(p.adaptersTotal), `${formatNumber(p.ordersAccepted)} / ${formatNumber(p.ordersSent)}`]),
    }));
  }
  for (const layout of LAYOUTS) {
    const p = c.points.find((x) => x.layout === layout && x.n === n);
    if (!p) continue;
    blocks.push(table({
      id: `connections-adapters-${layout}`, caption: `${layout} at n = ${p.n}: adapters each system needs`,
      columns: [left('system'), right('adapters'), left('speaks')],
      rows: p.adapters.map((a) => [a.system, formatNumber(a.adapters), formatList(a.speaks)]),
    }));
    blocks.push(table({
      id: `connections-tcp-${layout}`, caption: `${layout} at n = ${p.n}: live TCP connections`,
      columns: [left('client'), left('server'), right('connections')],
      rows: p.liveTcpPairs.map((x) => [x.client, x.server, formatNumber(x.connections)]),
    }));
  }
  return { id: 'connections', title: 'Connections', blocks };
}

export function onboardingSection(o: OnboardingResult): Section {
  const byLayout = LAYOUTS.map((layout) => o.layouts.find((l) => l.layout === layout));
  const cell = (get: (l: OnboardingResult['layouts'][number]) => string): string[] => byLayout.map((l) => (l ? get(l) : MISSING));
  const blocks: Block[] = [
    paragraph('Systems were added to a running landscape while orders kept arriving: what had to change in the existing systems, '
      + 'what the ingress noticed, and whether the newcomers got the orders from before they joined. '
      + 'An existing system that had to change was either restarted with its new configuration or, with the peers=reload practice, '
      + 'rewired while running (no restart): the two are counted apart.'),
    { kind: 'figures', group: 'onboarding' },
    table({
      id: 'onboarding-summary', caption: 'Adding systems', columns: [left('measure'), left('legacy'), left('hub')],
      rows: [
        ['systems before', ...cell((l) => formatList(l.initialSystems))],
        ['systems added', ...cell((l) => formatList(l.addedSystems))],
        ['existing systems reconfigured', ...cell((l) => `${l.reconfiguredSystems.length}: ${formatList(l.reconfiguredSystems)}`)],
        ['of them, rewired without a restart (peer reload)', ...cell((l) => (l.reloadedSystems ? `${l.reloadedSystems.length}: ${formatList(l.reloadedSystems)}` : MISSING))],
        ['existing systems restarted', ...cell((l) => `${l.restartedSystems.length}: ${formatList(l.restartedSystems)}`)],
        ['restart downtime (summed over the restarted systems)', ...cell((l) => ms(l.restartDowntimeMs ?? null))],
        ['new links', ...cell((l) => `${l.newLinks}: ${formatList(l.newLinkIds)}`)],
        ['ingress downtime (longest run of failures)', ...cell((l) => ms(l.ingressDowntimeMs))],
        ['ingress requests failed / sent', ...cell((l) => `${formatNumber(l.ingressFailed)} / ${formatNumber(l.ingressSent)}`)],
        ['time until the change was complete', ...cell((l) => ms(l.onboardingMs))],
        ['integration practices', ...cell((l) => (l.practices ? Object.entries(l.practices).map(([k, v]) => `${k}=${v}`).join(', ') : MISSING))],
      ],
    }),
    table({
      id: 'onboarding-newcomers', caption: 'History each newcomer received (records of orders from before it joined)',
      columns: [left('layout'), left('system'), right('received / expected'), left('received history')],
      rows: o.layouts.flatMap((l) => l.newcomers.map((n) => [l.layout, n.system, `${formatNumber(n.historyReceived)} / ${formatNumber(n.historyExpected)}`, yesNo(n.receivedHistory)])),
    }),
  ];
  return { id: 'onboarding', title: 'Onboarding', blocks };
}
