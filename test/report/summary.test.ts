// The executive summary and the limitations: generated from the run, each sentence carrying the
// figure, its interval where it has one, and the verdict the headline computes.
import { describe, expect, it } from 'vitest';
import { reportDocument } from '../../report/document.ts';
import type { Block, Section } from '../../report/document-model.ts';
import { headlineRows } from '../../report/headline.ts';
import type { Report } from '../../report/model.ts';
import { limitationsSection, summarySection } from '../../report/document-summary.ts';
import { sampleReport } from './fixture.ts';

const textOf = (s: Section): string => s.blocks.map((b: Block) => (b.kind === 'paragraph' ? b.text : b.kind === 'list' ? b.items.join('\n') : '')).join('\n');

function withRepeatedThroughput(): Report {
  const r = sampleReport();
  const t = r.runners.throughput!;
  for (const l of t.layouts) {
    const first = l.runs[0];
    l.runs = [1, 2, 3].map((run) => ({ ...structuredClone(first), run, search: { ...first.search, sustainedPerS: (first.search.sustainedPerS ?? 10) + run } }));
  }
  t.method.repeats = 3;
  r.headline = headlineRows(r.runners);
  return r;
}

describe('executive summary', () => {
  it('is the first section and answers each question with the headline\'s figure and verdict', () => {
    const r = sampleReport();
    const doc = reportDocument(r);
    expect(doc.sections[0].id).toBe('summary');
    expect(doc.sections[1].id).toBe('limitations');
    const text = textOf(summarySection(r));
    expect(text).toContain('How coupled is each layout, and how does that grow? At n = 9 systems, declared links: legacy 24, hub 10 links '
      + '(counted, exact: lower by 58 % (better))');
    expect(text).toMatch(/What happens when a part fails\? .*records lost: legacy \S+, hub \S+ records \(one run, no interval, so possibly noise: (lower|higher) [^)]*\((better|worse)\)\)/);
    expect(text).toContain('What does a unit of work cost, and how fast can it go?');
    expect(text).toContain('What does a change cost?');
  });

  it('gives a repeated figure with its interval and the verdict computed from it', () => {
    const r = withRepeatedThroughput();
    const row = r.headline.find((h) => h.metric === 'highest sustained rate')!;
    expect(row.intervals).toBeDefined();
    const text = textOf(summarySection(r));
    const sentence = text.split('\n').find((l) => l.startsWith('What does a unit of work cost'))!;
    expect(sentence).toMatch(/highest sustained rate: legacy [\d.,]+ \([\d.,]+–[\d.,]+\), hub [\d.,]+ \([\d.,]+–[\d.,]+\) orders\/s \(median of 3 runs with 95 % intervals: /);
  });

  it('leaves out the questions of runners that did not run', () => {
    const r = sampleReport();
    delete r.runners.failures;
    delete r.runners.onboarding;
    r.headline = headlineRows(r.runners);
    const text = textOf(summarySection(r));
    expect(text).not.toContain('What happens when a part fails?');
    expect(text).not.toContain('What does a change cost?');
    expect(text).toContain('How coupled');
  });
});

describe('limitations', () => {
  it('names the machine, the fault class, the hub\'s broker, the tuning and the runners\' notes', () => {
    const r = sampleReport();
    r.notes = ['throughput legacy run 2: the search used its 4 points'];
    const text = textOf(limitationsSection(r));
    expect(text).toContain(`One machine: ${r.machine.cpuModel}, ${r.machine.cores} cores`);
    expect(text).toContain('One fault class: kill -9 of one component at a time');
    expect(text).toContain(`The hub was ${r.versions.hub}`);
    expect(text).toMatch(/Tuning: the throughput runner lists the \d+ legacy and \d+ hub knobs/);
    expect(text).toContain('throughput legacy run 2: the search used its 4 points');
  });

  it('says when no fault was injected', () => {
    const r = sampleReport();
    delete r.runners.failures;
    expect(textOf(limitationsSection(r))).toContain('No faults were injected: the failures runner did not run.');
  });
});
