/**
 * Comparing two runs: every headline metric of both layouts (and of legacy-ha and hub-cluster in the
 * failures rows that carry them), A against B, with the relative change and whether it moved in the metric's good
 * direction; plus notes on anything that makes the two runs not like for like (machine, versions,
 * settings, seed, scenario).
 */
import { flattenSettings } from './document.ts';
import { formatChange, formatNumber } from './format.ts';
import { metricLabel } from './headline.ts';
import type { FailuresLayoutName, HeadlineRow, Report, RunnerName } from './model.ts';
import { formatTextTable } from './text-table.ts';

export type Verdict = 'better' | 'worse' | 'same' | 'n/a';

export interface DiffRow {
  runner: RunnerName;
  metric: string;
  unit: string;
  layout: FailuresLayoutName;
  a: number | null;
  b: number | null;
  /** (b - a) / |a| in percent; null when a is 0 or either is missing. */
  changePct: number | null;
  better: 'lower' | 'higher';
  /** Whether B moved in the metric's good direction; 'n/a' when either value is missing. */
  verdict: Verdict;
}

export interface ReportDiff {
  a: { runId: string };
  b: { runId: string };
  rows: DiffRow[];
  notes: string[];
}

/** At most this many differing settings are listed one by one. */
export const MAX_SETTING_NOTES = 20;

export function changePercent(a: number | null, b: number | null): number | null {
  if (a === null || b === null || a === 0) return null;
  return ((b - a) / Math.abs(a)) * 100;
}

export function verdictOf(a: number | null, b: number | null, better: 'lower' | 'higher'): Verdict {
  if (a === null || b === null) return 'n/a';
  if (a === b) return 'same';
  return (b < a) === (better === 'lower') ? 'better' : 'worse';
}

const key = (h: Pick<HeadlineRow, 'runner' | 'metric'>): string => `${h.runner}\u0000${h.metric}`;

function fieldNotes(what: string, a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const fields = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return fields
    .filter((f) => JSON.stringify(a[f]) !== JSON.stringify(b[f]))
    .map((f) => `${what} ${f} differs: ${JSON.stringify(a[f] ?? null)} in A, ${JSON.stringify(b[f] ?? null)} in B`);
}

function settingNotes(a: Report, b: Report): string[] {
  const sa = new Map(flattenSettings(a.scenario.settings));
  const sb = new Map(flattenSettings(b.scenario.settings));
  const names = [...new Set([...sa.keys(), ...sb.keys()])].filter((k) => sa.get(k) !== sb.get(k));
  const notes = names.slice(0, MAX_SETTING_NOTES).map((k) => `setting ${k} differs: ${sa.get(k) ?? '(not set)'} in A, ${sb.get(k) ?? '(not set)'} in B`);
  if (names.length > MAX_SETTING_NOTES) notes.push(`... and ${names.length - MAX_SETTING_NOTES} more settings differ`);
  return notes;
}

function runNotes(a: Report, b: Report): string[] {
  const notes: string[] = [];
  if (a.schemaVersion !== b.schemaVersion) notes.push(`report schema version differs: ${a.schemaVersion} in A, ${b.schemaVersion} in B`);
  notes.push(...fieldNotes('scenario', { name: a.scenario.name, file: a.scenario.file, quick: a.scenario.quick }, { name: b.scenario.name, file: b.scenario.file, quick: b.scenario.quick }));
  if (a.seed !== b.seed) notes.push(`seed differs: ${a.seed} in A, ${b.seed} in B`);
  notes.push(...fieldNotes('machine', a.machine, b.machine));
  notes.push(...fieldNotes('version of', a.versions, b.versions));
  notes.push(...settingNotes(a, b));
  for (const runner of ['connections', 'failures', 'throughput', 'onboarding'] as const) {
    const inA = a.runners[runner] !== undefined;
    const inB = b.runners[runner] !== undefined;
    if (inA !== inB) notes.push(`runner ${runner} ran only in ${inA ? 'A' : 'B'}`);
  }
  return notes;
}

export function diffReports(a: Report, b: Report): ReportDiff {
  const inA = new Map(a.headline.map((h) => [key(h), h]));
  const inB = new Map(b.headline.map((h) => [key(h), h]));
  const order = [...a.headline, ...b.headline.filter((h) => !inA.has(key(h)))];
  const rows: DiffRow[] = [];
  const notes = runNotes(a, b);
  for (const h of order) {
    const ha = inA.get(key(h));
    const hb = inB.get(key(h));
    const ref = hb ?? h;
    if (ha && hb && ha.better !== hb.better) notes.push(`${h.runner} ${h.metric}: "better" is ${ha.better} in A but ${hb.better} in B; B's is used`);
    if (!ha || !hb) notes.push(`${h.runner} ${h.metric}: only in ${ha ? 'A' : 'B'}`);
    // legacy-ha and hub-cluster only in rows that carry them (the failures rows; older runs: hub-cluster where measured).
    const has = (layout: 'legacy-ha' | 'hub-cluster'): boolean => ha?.[layout] !== undefined || hb?.[layout] !== undefined;
    const layouts: FailuresLayoutName[] = ['legacy', 'hub', ...(has('legacy-ha') ? ['legacy-ha' as const] : []), ...(has('hub-cluster') ? ['hub-cluster' as const] : [])];
    for (const layout of layouts) {
      const va = ha ? ha[layout] ?? null : null;
      const vb = hb ? hb[layout] ?? null : null;
      rows.push({ runner: h.runner, metric: h.metric, unit: ref.unit, layout, a: va, b: vb, changePct: changePercent(va, vb), better: ref.better, verdict: verdictOf(va, vb, ref.better) });
    }
  }
  return { a: { runId: a.runId }, b: { runId: b.runId }, rows, notes };
}

/** The diff as plain text: who A and B are, an aligned table, then the notes. */
export function formatDiff(diff: ReportDiff, labels: { a?: string; b?: string } = {}): string {
  const who = (side: 'a' | 'b'): string => `${side.toUpperCase()}: ${diff[side].runId}${labels[side] ? ` (${labels[side]})` : ''}`;
  const table = diff.rows.length === 0
    ? 'no headline metrics in either report'
    : formatTextTable(
      [{ label: 'runner', align: 'left' }, { label: 'metric', align: 'left' }, { label: 'layout', align: 'left' }, { label: 'A', align: 'right' },
        { label: 'B', align: 'right' }, { label: 'change', align: 'right' }, { label: 'better is', align: 'left' }, { label: 'B is', align: 'left' }],
      diff.rows.map((r) => [r.runner, metricLabel(r), r.layout, formatNumber(r.a), formatNumber(r.b), formatChange(r.changePct), r.better, r.verdict]),
    );
  const notes = diff.notes.length === 0 ? ['Notes: none; same machine, versions, settings and seed.'] : ['Notes (the runs are not like for like):', ...diff.notes.map((n) => `  - ${n}`)];
  return [who('a'), who('b'), '', table, '', ...notes].join('\n');
}
