/**
 * Whether two runs ran the same landscape and the same scenario, for `untangle diff`: a comparison of
 * runs over different topologies is not like with like, so it must stand out, not hide among the notes.
 * Told by the files' content hashes, the systems and links each run was built from (a scenario may
 * restrict a topology to some of its systems) and, when both reports carry them, the files' texts.
 */
import type { Report } from './model.ts';

/** Ids only in A, only in B, and in both but not the same. */
export interface IdChanges { removed: string[]; added: string[]; changed: string[] }

/** What differs between two runs' topologies; each list is empty when that part is the same. */
export interface TopologyChanges {
  /** The file's content hashes, when they differ (both recorded). */
  sha256: { a: string; b: string } | null;
  /** By id: removed = only in A, added = only in B, changed = another name or role. */
  systems: IdChanges;
  /** By id: changed = another end, protocol, format or data (in any field both reports carry). */
  legacyLinks: IdChanges;
  hubLinks: IdChanges;
  /** Lines of the file's text only in A, only in B (as multisets); null unless both reports carry the text. */
  lines: { onlyInA: number; onlyInB: number } | null;
}

/** Whether the two runs read the same file, and how their texts differ when both carry it. */
export interface FileComparison {
  /** true: the same bytes (equal hashes or texts); false: different; null: cannot be told (not recorded in both). */
  same: boolean | null;
  sha256: { a: string; b: string } | null;
  lines: { onlyInA: number; onlyInB: number } | null;
}

export interface TopologyComparison extends FileComparison {
  /** Only when `same` is false: what differs. */
  changes: TopologyChanges | null;
}

/** A field's value for comparing: lists of names in any order are the same list. */
const comparable = (v: unknown): string =>
  JSON.stringify(Array.isArray(v) && v.every((x) => typeof x === 'string') ? [...(v as string[])].sort() : v);

/**
 * Whether two entries (a system, a link) differ in a field both carry: a field only one report has
 * (added to the report later, such as a link's direction) is no difference.
 */
function differs(a: object, b: object): boolean {
  const [ra, rb] = [a as Record<string, unknown>, b as Record<string, unknown>];
  return Object.keys(ra).some((k) => k in rb && ra[k] !== undefined && rb[k] !== undefined && comparable(ra[k]) !== comparable(rb[k]));
}

function idChanges<T extends { id: string }>(a: readonly T[], b: readonly T[]): IdChanges {
  const inA = new Map(a.map((x) => [x.id, x]));
  const inB = new Map(b.map((x) => [x.id, x]));
  return {
    removed: [...inA.keys()].filter((id) => !inB.has(id)),
    added: [...inB.keys()].filter((id) => !inA.has(id)),
    changed: [...inA.keys()].filter((id) => inB.has(id) && differs(inA.get(id)!, inB.get(id)!)),
  };
}

const isEmpty = (c: IdChanges): boolean => c.removed.length + c.added.length + c.changed.length === 0;

/** How many lines each text has that the other lacks, counting repeated lines as often as they occur. */
export function lineChanges(a: string, b: string): { onlyInA: number; onlyInB: number } {
  const counts = new Map<string, number>();
  for (const line of a.split('\n')) counts.set(line, (counts.get(line) ?? 0) + 1);
  for (const line of b.split('\n')) counts.set(line, (counts.get(line) ?? 0) - 1);
  let onlyInA = 0;
  let onlyInB = 0;
  for (const n of counts.values()) {
    if (n > 0) onlyInA += n;
    else onlyInB -= n;
  }
  return { onlyInA, onlyInB };
}

/** Two runs' files by hash (else by text): the same, different, or not to be told. */
export function compareFiles(a: { sha256?: string; text?: string }, b: { sha256?: string; text?: string }): FileComparison {
  const bothTexts = a.text !== undefined && b.text !== undefined;
  const same = a.sha256 !== undefined && b.sha256 !== undefined ? a.sha256 === b.sha256 : bothTexts ? a.text === b.text : null;
  return {
    same,
    sha256: same === false && a.sha256 !== undefined && b.sha256 !== undefined ? { a: a.sha256, b: b.sha256 } : null,
    lines: same === false && bothTexts ? lineChanges(a.text!, b.text!) : null,
  };
}

/**
 * The two runs' topologies: different when their files' hashes (or texts) differ or the systems and links
 * they were built from differ; the same when the hashes are equal and so are those; else not to be told.
 */
export function compareTopologies(a: Report, b: Report): TopologyComparison {
  const file = compareFiles(a.topology, b.topology);
  const parts = {
    systems: idChanges(a.topology.systems, b.topology.systems),
    legacyLinks: idChanges(a.topology.legacyLinks, b.topology.legacyLinks),
    hubLinks: idChanges(a.topology.hubLinks, b.topology.hubLinks),
  };
  const partsDiffer = !isEmpty(parts.systems) || !isEmpty(parts.legacyLinks) || !isEmpty(parts.hubLinks);
  const same = partsDiffer || file.same === false ? false : file.same;
  return { ...file, same, changes: same === false ? { sha256: file.sha256, ...parts, lines: file.lines } : null };
}

const ids = (xs: readonly string[]): string => xs.join(', ');

/** "only in A: X, Y; only in B: Z; changed: W" for one part, or null when it is the same. */
function idChangesText(what: string, c: IdChanges): string | null {
  if (isEmpty(c)) return null;
  const parts = [c.removed.length > 0 ? `only in A: ${ids(c.removed)}` : '', c.added.length > 0 ? `only in B: ${ids(c.added)}` : '',
    c.changed.length > 0 ? `changed: ${ids(c.changed)}` : ''].filter((p) => p !== '');
  return `${what} ${parts.join('; ')}`;
}

const shortSha = (sha: string): string => `${sha.slice(0, 12)}…`;
const lineCount = (n: number): string => `${n} ${n === 1 ? 'line' : 'lines'}`;

/** The lines that say how two runs' topologies differ, one per differing part, for under the warning. */
export function topologyChangeLines(c: TopologyChanges): string[] {
  return [
    c.sha256 ? `topology file sha256 ${shortSha(c.sha256.a)} in A, ${shortSha(c.sha256.b)} in B` : null,
    idChangesText('systems', c.systems),
    idChangesText('legacy links', c.legacyLinks),
    idChangesText('hub links', c.hubLinks),
    c.lines ? `topology file text: ${lineCount(c.lines.onlyInA)} only in A, ${c.lines.onlyInB} only in B (each report.json holds its text: jq -r .topology.text)` : null,
    c.sha256 && !c.lines ? 'the file\'s text is not in both reports, so only its hash can be compared' : null,
  ].filter((l): l is string => l !== null);
}

/** The prominent warning for runs over different topologies, with what differs; empty when not known to differ. */
export function topologyWarning(t: TopologyComparison): string[] {
  if (t.same !== false || t.changes === null) return [];
  const systemsOrLinks = [t.changes.systems, t.changes.legacyLinks, t.changes.hubLinks].some((c) => !isEmpty(c));
  const why = [t.changes.sha256 ? 'the topology files differ' : '', systemsOrLinks ? 'the systems and links they ran differ' : ''].filter((x) => x !== '').join(' and ');
  return [`WARNING: the runs used different topologies: ${why}, so the comparison is not like with like.`, ...topologyChangeLines(t.changes).map((l) => `  ${l}`)];
}

/** The weaker note for runs over different scenario files (the setting notes say which settings differ). */
export function scenarioNote(s: FileComparison): string[] {
  if (s.same !== false) return [];
  const hashes = s.sha256 ? ` (sha256 ${shortSha(s.sha256.a)} in A, ${shortSha(s.sha256.b)} in B)` : '';
  const lines = s.lines ? `; ${lineCount(s.lines.onlyInA)} only in A, ${s.lines.onlyInB} only in B (jq -r .scenario.text)` : '';
  return [`Note: the runs used different scenario files${hashes}${lines}; the settings below may differ.`];
}
