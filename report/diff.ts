/**
 * Comparing two runs: every headline metric of both layouts (and of legacy-ha and hub-cluster in the
 * failures rows that carry them), A against B, with the relative change and whether B differs by
 * more than the noise, judged by the rule the headline uses (judgeChange); plus notes on anything
 * that makes the two runs not like for like (scenario and topology, by name, file and content hash;
 * machine, versions, settings, seed). Runs over different topologies get a warning at the top
 * (diff-inputs.ts tells them apart), runs over different scenario files a note there.
 */
import { flattenSettings } from './document.ts';
import { compareFiles, compareTopologies, scenarioNote, topologyChangeLines, topologyWarning, type TopologyChanges } from './diff-inputs.ts';
import { formatChange } from './format.ts';
import { metricLabel } from './headline.ts';
import { figureCell, runsCell } from './headline-cells.ts';
import type { FailuresLayoutName, HeadlineRow, Report, RunnerName } from './model.ts';
import { formatTextTable } from './text-table.ts';

/**
 * What B is against A: better or worse (a difference beyond the noise, in the metric's good or bad
 * direction), same, within noise (the two runs' intervals overlap), single run: cannot tell (a
 * measured figure of one run differs, but one run has no interval), or n/a (missing on a side).
 */
export type DiffVerdict = 'better' | 'worse' | 'same' | 'within noise' | 'single run: cannot tell' | 'n/a';

type Interval = [number, number];

export interface DiffRow {
  runner: RunnerName;
  metric: string;
  unit: string;
  layout: FailuresLayoutName;
  /** The figures (medians when measured over several runs). */
  a: number | null;
  b: number | null;
  /** Their 95 % intervals, when that run measured the metric over several runs (legacy and hub only). */
  aInterval: Interval | null;
  bInterval: Interval | null;
  /** What the figures stand on in A and B: "exact", or the number of runs. */
  aRuns: string;
  bRuns: string;
  /** Counted from the topology or the wiring (in either run): compared by value, no noise. */
  exact: boolean;
  /** (b - a) / |a| in percent; null when a is 0 or either is missing. */
  changePct: number | null;
  better: 'lower' | 'higher';
  verdict: DiffVerdict;
}

export interface ReportDiff {
  a: { runId: string };
  b: { runId: string };
  rows: DiffRow[];
  notes: string[];
  /**
   * Whether both runs ran the same topology: false when the files' hashes (or texts) or the systems and
   * links they ran differ, true when the hashes are equal and so are those, null when it cannot be told
   * (a hash missing from an older report, the systems and links the same).
   */
  sameTopology: boolean | null;
  /** When sameTopology is false: what differs. */
  topologyChanges: TopologyChanges | null;
  /** Whether both runs read the same scenario file, by hash (or text); null when not recorded in both. */
  sameScenario: boolean | null;
  /** Lines formatDiff prints above everything: the warning for different topologies, the note for different scenario files. */
  warnings: string[];
}

/** At most this many differing settings are listed one by one. */
export const MAX_SETTING_NOTES = 20;

export function changePercent(a: number | null, b: number | null): number | null {
  if (a === null || b === null || a === 0) return null;
  return ((b - a) / Math.abs(a)) * 100;
}

/** One run's side of a comparison: its figure, and its interval when it was measured over several runs. */
export interface DiffSide { value: number | null; interval: readonly [number, number] | null }

/**
 * B against A, by the headline's rule: an exact figure is better, worse or the same by value; when
 * both runs have an interval, overlapping intervals are "within noise", otherwise better or worse;
 * a measured figure without an interval on either side cannot be told from noise ("single run:
 * cannot tell") unless the two are equal.
 */
export function judgeChange(a: DiffSide, b: DiffSide, better: 'lower' | 'higher', exact: boolean): DiffVerdict {
  const [va, vb] = [a.value, b.value];
  if (va === null || vb === null) return 'n/a';
  const direction = (): DiffVerdict => ((vb < va) === (better === 'lower') ? 'better' : 'worse');
  if (exact) return va === vb ? 'same' : direction();
  if (a.interval && b.interval) {
    const overlap = a.interval[0] <= b.interval[1] && b.interval[0] <= a.interval[1];
    // Apart, each interval holds its median, so the medians are apart the same way.
    return overlap ? 'within noise' : direction();
  }
  return va === vb ? 'same' : 'single run: cannot tell';
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

/** A file's content, by the sha256 of its bytes as run: a note when they differ, or when only one run recorded it. */
function contentNotes(what: string, a: string | undefined, b: string | undefined): string[] {
  if (a !== undefined && b !== undefined) return a === b ? [] : [`${what} content differs: sha256 ${a.slice(0, 12)}… in A, ${b.slice(0, 12)}… in B`];
  if (a === undefined && b === undefined) return [];
  return [`${what} content recorded only in ${a !== undefined ? 'A' : 'B'} (sha256): cannot tell whether it is the same`];
}

function runNotes(a: Report, b: Report): string[] {
  const notes: string[] = [];
  if (a.schemaVersion !== b.schemaVersion) notes.push(`report schema version differs: ${a.schemaVersion} in A, ${b.schemaVersion} in B`);
  notes.push(...fieldNotes('scenario', { name: a.scenario.name, file: a.scenario.file, quick: a.scenario.quick }, { name: b.scenario.name, file: b.scenario.file, quick: b.scenario.quick }));
  notes.push(...contentNotes('scenario file', a.scenario.sha256, b.scenario.sha256));
  notes.push(...fieldNotes('topology', { name: a.topology.name, file: a.topology.file }, { name: b.topology.name, file: b.topology.file }));
  notes.push(...contentNotes('topology file', a.topology.sha256, b.topology.sha256));
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

/** A headline row's figure for one layout, with its interval (only legacy and hub carry intervals). */
function side(h: HeadlineRow | undefined, layout: FailuresLayoutName): { value: number | null; interval: Interval | null } {
  if (!h) return { value: null, interval: null };
  const interval = layout === 'legacy' || layout === 'hub' ? h.intervals?.[layout] ?? null : null;
  return { value: h[layout] ?? null, interval: interval ? [interval[0], interval[1]] : null };
}

function runsOf(h: HeadlineRow | undefined, exact: boolean): string {
  return h ? runsCell({ exact: exact || h.exact, runs: h.runs }) : '–';
}

export function diffReports(a: Report, b: Report): ReportDiff {
  const inA = new Map(a.headline.map((h) => [key(h), h]));
  const inB = new Map(b.headline.map((h) => [key(h), h]));
  const order = [...a.headline, ...b.headline.filter((h) => !inA.has(key(h)))];
  const rows: DiffRow[] = [];
  const notes = runNotes(a, b);
  const topology = compareTopologies(a, b);
  const scenario = compareFiles(a.scenario, b.scenario);
  // The systems and links are in the notes too; the file's hash already is (contentNotes).
  if (topology.changes) notes.push(...topologyChangeLines({ ...topology.changes, sha256: null, lines: null }).map((l) => `topology ${l}`));
  for (const h of order) {
    const ha = inA.get(key(h));
    const hb = inB.get(key(h));
    const ref = hb ?? h;
    if (ha && hb && ha.better !== hb.better) notes.push(`${h.runner} ${h.metric}: "better" is ${ha.better} in A but ${hb.better} in B; B's is used`);
    if (!ha || !hb) notes.push(`${h.runner} ${h.metric}: only in ${ha ? 'A' : 'B'}`);
    // legacy-ha and hub-cluster only in rows that carry them (the failures rows; older runs: hub-cluster where measured).
    const has = (layout: 'legacy-ha' | 'hub-cluster'): boolean => ha?.[layout] !== undefined || hb?.[layout] !== undefined;
    const layouts: FailuresLayoutName[] = ['legacy', 'hub', ...(has('legacy-ha') ? ['legacy-ha' as const] : []), ...(has('hub-cluster') ? ['hub-cluster' as const] : [])];
    // Exactness belongs to the metric, so a row marked exact in either run is compared by value.
    const exact = ha?.exact === true || hb?.exact === true;
    for (const layout of layouts) {
      const sa = side(ha, layout);
      const sb = side(hb, layout);
      rows.push({
        runner: h.runner, metric: h.metric, unit: ref.unit, layout, a: sa.value, b: sb.value, aInterval: sa.interval, bInterval: sb.interval,
        aRuns: runsOf(ha, exact), bRuns: runsOf(hb, exact), exact, changePct: changePercent(sa.value, sb.value), better: ref.better,
        verdict: judgeChange(sa, sb, ref.better, exact),
      });
    }
  }
  return {
    a: { runId: a.runId }, b: { runId: b.runId }, rows, notes, sameTopology: topology.same, topologyChanges: topology.changes, sameScenario: scenario.same,
    warnings: [...topologyWarning(topology), ...scenarioNote(scenario)],
  };
}

/** The diff as plain text: a warning when the runs are not over the same topology, who A and B are, an aligned table, then the notes. */
export function formatDiff(diff: ReportDiff, labels: { a?: string; b?: string } = {}): string {
  const who = (side: 'a' | 'b'): string => `${side.toUpperCase()}: ${diff[side].runId}${labels[side] ? ` (${labels[side]})` : ''}`;
  const table = diff.rows.length === 0
    ? 'no headline metrics in either report'
    : formatTextTable(
      [{ label: 'runner', align: 'left' }, { label: 'metric', align: 'left' }, { label: 'layout', align: 'left' }, { label: 'A', align: 'right' },
        { label: 'B', align: 'right' }, { label: 'change', align: 'right' }, { label: 'better is', align: 'left' }, { label: 'runs A/B', align: 'right' },
        { label: 'B is', align: 'left' }],
      diff.rows.map((r) => [r.runner, metricLabel(r), r.layout, figureCell(r.a, r.aInterval), figureCell(r.b, r.bInterval), formatChange(r.changePct), r.better,
        r.exact ? 'exact' : `${r.aRuns}/${r.bRuns}`, r.verdict]),
    );
  const notes = diff.notes.length === 0
    ? ['Notes: none; same scenario and topology, machine, versions, settings and seed.']
    : ['Notes (the runs are not like for like):', ...diff.notes.map((n) => `  - ${n}`)];
  return [...(diff.warnings.length > 0 ? [...diff.warnings, ''] : []), who('a'), who('b'), '', table, '', ...notes].join('\n');
}
