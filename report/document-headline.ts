/**
 * The headline section: legacy against hub for every runner that ran (one RabbitMQ node against one
 * broker), then the failures runner's second pair, legacy-ha against hub-cluster, each failures
 * comparison over the components both of its layouts failed (said in a sentence). A layout the
 * failures runner did not measure is "not measured", never a number. A figure measured over several
 * runs shows its median with its 95 % interval, every row says what it stands on (exact, one run or
 * several) and gives a verdict; a paragraph below the tables says how to read them.
 */
import { left, paragraph, right, table, type Block, type Column, type Section } from './document-model.ts';
import { clusterRatioOf, connectionsHeadlineN, hasClusterColumn, metricLabel } from './headline.ts';
import { figureCell, headlineReading, plainPairCells, ratioCell, runsCell, verdictCell } from './headline-cells.ts';
import { comparePairs, PAIRS } from './failures-compare.ts';
import { NOT_MEASURED, pairScopeText } from './document-failures.ts';
import type { FailuresLayoutName, HeadlineRow, Report } from './model.ts';

const HEADLINE_INTRO = 'Each metric of both layouts side by side. hub/legacy below 1 means the hub has less of it; '
  + '"better" says which direction is the good one for that metric.';

const columns = (a: string, b: string): Column[] =>
  [left('runner'), left('metric'), right(a), right(b), right(`${b}/${a}`), left('better'), right('runs'), left('verdict')];

export function headlineSection(r: Report): Section {
  const failures = r.runners.failures;
  /** A failures layout the runner did not measure: "not measured" in place of its figure. */
  const unmeasured = (h: HeadlineRow, layout: FailuresLayoutName): boolean =>
    h.runner === 'failures' && failures !== undefined && !failures.layouts.some((l) => l.layout === layout);
  const rows = r.headline.map((h) => {
    const c = plainPairCells(h);
    return [h.runner, metricLabel(h), unmeasured(h, 'legacy') ? NOT_MEASURED : c.legacy, unmeasured(h, 'hub') ? NOT_MEASURED : c.hub,
      c.ratio, h.better, c.runs, c.verdict];
  });
  const n = r.runners.connections ? connectionsHeadlineN(r.runners.connections) : null;
  const atN = n === null ? '' : ` The connections metrics are taken at n = ${n} systems, the largest n measured in both layouts.`;
  const failureRows = r.headline.filter((h) => h.runner === 'failures');
  const pairs = failures ? comparePairs(failures) : [];
  const blocks: Block[] = [
    paragraph(rows.length === 0 ? 'No runner ran, so there is nothing to compare.' : HEADLINE_INTRO + atN),
  ];
  if (rows.length > 0) {
    blocks.push(table({ id: 'headline', caption: `legacy against hub (${PAIRS[0].label})`, columns: columns('legacy', 'hub'), rows }));
  }
  if (pairs.length > 0) blocks.push(paragraph(`Failures are compared like with like. ${pairs.map(pairScopeText).join(' ')}`));
  if (hasClusterColumn(failureRows)) {
    // The second pair carries no intervals of its own: its figures show as they are.
    const value = (h: HeadlineRow, layout: 'legacy-ha' | 'hub-cluster'): string => (unmeasured(h, layout) ? NOT_MEASURED : figureCell(h[layout], null));
    blocks.push(table({
      id: 'headline-ha', caption: `legacy-ha against hub-cluster (${PAIRS[1].label}): failures only`, columns: columns('legacy-ha', 'hub-cluster'),
      rows: failureRows.map((h) => [h.runner, metricLabel(h), value(h, 'legacy-ha'), value(h, 'hub-cluster'), ratioCell(clusterRatioOf(h), null), h.better,
        runsCell(h), verdictCell(h, h['legacy-ha'], h['hub-cluster'], clusterRatioOf(h))]),
    }));
  }
  if (rows.length > 0) blocks.push(paragraph(headlineReading(r.headline)));
  return { id: 'headline', title: 'Headline', blocks };
}
