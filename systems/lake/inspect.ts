/** A summary of what is in a lake folder, for the CLI and for reports: counts per kind, system, format and date. */
import type { RecordKinds } from '../model/kinds.ts';
import { quarantineCounts } from './quarantine.ts';
import { visitLake, type LakeLayout } from './reader.ts';

export interface LayoutSummary {
  files: number;
  records: number;
  bad: number;
  tempFiles: number;
  byKind: Record<string, number>;
  /** Legacy layout only: records per exporting system. */
  bySystem: Record<string, number>;
  /** Records per file format (jsonl in the hub layout). */
  byFormat: Record<string, number>;
  byDate: Record<string, number>;
}

export interface LakeSummary {
  dir: string;
  legacy: LayoutSummary;
  hub: LayoutSummary;
  quarantine: { total: number; bySource: Record<string, number> };
}

const bump = (m: Record<string, number>, key: string | undefined) => {
  const k = key ?? '?';
  m[k] = (m[k] ?? 0) + 1;
};

function summarize(dir: string, layout: LakeLayout, kinds: RecordKinds): LayoutSummary {
  const s: LayoutSummary = { files: 0, records: 0, bad: 0, tempFiles: 0, byKind: {}, bySystem: {}, byFormat: {}, byDate: {} };
  visitLake(dir, layout, kinds, {
    onFile: () => void s.files++,
    onTempFile: () => void s.tempFiles++,
    onBad: () => void s.bad++,
    onRecord: (r, info) => {
      s.records++;
      bump(s.byKind, r.kind);
      if (info.system) bump(s.bySystem, info.system);
      bump(s.byFormat, info.format);
      bump(s.byDate, info.date);
    },
  });
  return s;
}

/** What is in the lake folder `dir`, read with the landscape's data kinds (others count as bad). */
export function inspectLake(dir: string, kinds: RecordKinds): LakeSummary {
  const bySource = quarantineCounts(dir);
  return {
    dir,
    legacy: summarize(dir, 'legacy', kinds),
    hub: summarize(dir, 'hub', kinds),
    quarantine: { total: Object.values(bySource).reduce((a, b) => a + b, 0), bySource },
  };
}

function counts(m: Record<string, number>): string {
  const keys = Object.keys(m).sort();
  return keys.length === 0 ? '-' : keys.map((k) => `${k}=${m[k]}`).join(' ');
}

/** Human-readable text of a LakeSummary. */
export function formatLakeSummary(s: LakeSummary): string {
  const out = [`lake ${s.dir}`];
  for (const layout of ['legacy', 'hub'] as const) {
    const l = s[layout];
    out.push(`  ${layout}: ${l.files} files, ${l.records} records, ${l.bad} bad, ${l.tempFiles} temporary files skipped`);
    if (l.records === 0) continue;
    out.push(`    by kind:   ${counts(l.byKind)}`);
    if (layout === 'legacy') out.push(`    by system: ${counts(l.bySystem)}`);
    out.push(`    by format: ${counts(l.byFormat)}`);
    out.push(`    by date:   ${counts(l.byDate)}`);
  }
  out.push(`  quarantine: ${s.quarantine.total} entries${s.quarantine.total ? ` (${counts(s.quarantine.bySource)})` : ''}`);
  return out.join('\n');
}
