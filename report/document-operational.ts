/**
 * The report section "Operational surface": what each layout asks of the people who run it, counted
 * (operational.ts) from the topology the way the wirings build it and from what the runs saw, each
 * count with a line saying how it was counted.
 */
import { left, paragraph, right, table, type Section } from './document-model.ts';
import { formatNumber, MISSING } from './format.ts';
import type { Report } from './model.ts';
import { operationalCounts } from './operational.ts';

const cell = (v: number | null): string => (v === null ? MISSING : formatNumber(v));

/** The section; null when the topology has no systems (nothing to count). */
export function operationalSection(r: Report): Section | null {
  if (r.topology.systems.length === 0) return null;
  const rows = operationalCounts(r);
  return {
    id: 'operational',
    title: 'Operational surface',
    blocks: [
      paragraph(`What each layout of the ${r.topology.systems.length} systems of "${r.topology.name}" gives a team to deploy, secure, configure and watch. `
        + 'The rows from the topology are counted the way the wirings build each layout, so they are exact; the rows from a run are what that run saw. '
        + 'Each row says how it was counted.'),
      table({
        id: 'operational-surface', caption: 'Operational surface per layout',
        columns: [left('item'), right('legacy'), right('hub'), left('from'), left('counted as')],
        rows: rows.map((x) => [x.item, cell(x.legacy), cell(x.hub), x.from, x.countedAs]),
      }),
    ],
  };
}
