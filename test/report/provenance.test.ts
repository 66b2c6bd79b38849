// report.source and the files' texts in the schema (optional, so older reports still validate), and the
// sentence a reader gets about the commit (report/provenance.ts).
import { describe, expect, it } from 'vitest';
import type { Report } from '../../report/model.ts';
import { shortCommit, sourceText } from '../../report/provenance.ts';
import { validateReport } from '../../report/validate.ts';
import { sampleReport } from './fixture.ts';

const COMMIT = '0123456789abcdef0123456789abcdef01234567';

function withSource(source: Report['source']): Report {
  const r = sampleReport();
  if (source === undefined) delete r.source;
  else r.source = source;
  return r;
}

describe('report.source and the files\' texts in the schema', () => {
  it('accepts a report with them, and an older one without them', () => {
    expect(validateReport(JSON.parse(JSON.stringify(sampleReport()))).ok).toBe(true);
    const older = withSource(undefined);
    delete older.topology.text;
    delete older.scenario.text;
    expect(validateReport(older).ok).toBe(true);
    expect(validateReport(withSource({ commit: null, dirty: null, reason: 'git is not installed' })).ok).toBe(true);
    expect(validateReport(withSource({ commit: 'ab'.repeat(32), dirty: false })).ok).toBe(true);
  });

  it('refuses a commit that is not a full hex hash and a text over the limit', () => {
    const r = validateReport(withSource({ commit: '0123abc', dirty: false }));
    expect(r.ok ? [] : r.errors).toContain('source.commit: must match pattern "^[0-9a-f]{40}([0-9a-f]{24})?$"');
    const big = sampleReport();
    big.topology.text = 'x'.repeat(1024 * 1024 + 1);
    const b = validateReport(big);
    expect(b.ok ? [] : b.errors).toEqual(['topology.text: must NOT have more than 1048576 characters']);
  });
});

describe('sourceText', () => {
  it('names the commit, short, and the state of the working tree', () => {
    expect(shortCommit(COMMIT)).toBe('0123456789ab…');
    expect(sourceText(withSource({ commit: COMMIT, dirty: false }))).toBe('Built from commit 0123456789ab… (the working tree was clean).');
    expect(sourceText(withSource({ commit: COMMIT, dirty: true })))
      .toBe('Built from commit 0123456789ab… (the working tree had uncommitted changes, so the code that ran is not exactly that commit).');
    expect(sourceText(withSource({ commit: COMMIT, dirty: null, reason: 'git status did not finish within 10 s' })))
      .toBe('Built from commit 0123456789ab… (whether the working tree had uncommitted changes is not known: git status did not finish within 10 s).');
  });

  it('says why the commit is missing, or that the report is older than the record', () => {
    expect(sourceText(withSource({ commit: null, dirty: null, reason: 'the code at /opt/untangle is not a git checkout.' })))
      .toBe('The commit was not recorded: the code at /opt/untangle is not a git checkout.');
    expect(sourceText(withSource(undefined))).toBe('The commit was not recorded (report made before it was).');
  });
});
