/**
 * Where a report's code came from, in words for its reader: the commit the run was built from and
 * whether the working tree had changes on top of it (report.source, read by scenarios/provenance.ts).
 * One sentence, so the report's reproducibility section and anything else that states it say the same.
 */
import type { Report } from './model.ts';

/** Hex digits of a commit shown to a reader: unambiguous in any repository of this size, short enough to read. */
export const SHORT_COMMIT_CHARS = 12;

/** "0123456789ab…" from a full commit hash. */
export function shortCommit(commit: string): string {
  return commit.length > SHORT_COMMIT_CHARS ? `${commit.slice(0, SHORT_COMMIT_CHARS)}…` : commit;
}

const withoutFinalStop = (text: string): string => text.trim().replace(/\.+$/, '');

/**
 * One sentence on the commit a run was built from: "Built from commit 0123456789ab… (the working tree
 * had uncommitted changes).", "The commit was not recorded: <why>.", or for a report made before
 * untangle recorded it, "The commit was not recorded (report made before it was)."
 */
export function sourceText(r: Report): string {
  const s = r.source;
  if (s === undefined) return 'The commit was not recorded (report made before it was).';
  const why = withoutFinalStop(s.reason ?? 'no reason was recorded');
  if (s.commit === null) return `The commit was not recorded: ${why}.`;
  const tree = s.dirty === null
    ? `whether the working tree had uncommitted changes is not known: ${why}`
    : s.dirty ? 'the working tree had uncommitted changes, so the code that ran is not exactly that commit' : 'the working tree was clean';
  return `Built from commit ${shortCommit(s.commit)} (${tree}).`;
}
