/**
 * The headline section: legacy against hub for every runner that ran (one RabbitMQ node against one
 * broker), then the failures runner's second pair, legacy-ha against hub-cluster, each failures
 * comparison over the components both of its layouts failed (said in a sentence). A layout the
 * failures runner did not measure is "not measured", never a number.
 */
import { left, paragraph, right, table, type Block, type Section } from './document-model.ts';
import { formatNumber, formatRatio } from './format.ts';
import { clusterRatioOf, connectionsHeadlineN, hasClusterColumn, metricLabel } from './headline.ts';
import { comparePairs, PAIRS } from './failures-compare.ts';
import { NOT_MEASURED, pairScopeText } from './document-failures.ts';
import type { FailuresLayoutName, HeadlineRow, Report } from './model.ts';

const HEADLINE_INTRO = 'Each metric of both layouts side by side. hub/legacy below 1 means the hub has less of it; '
  + '"better" says which direction is the good one for that metric.';

export function headlineSection(r: Report): Section {
  const failures = r.runners.failures;
  /** A failures value: "not measured" when the runner did not measure that layout. */
  const value = (h: HeadlineRow, layout: FailuresLayoutName): string => {
    if (h.runner === 'failures' && failures && !failures.layouts.some((l) => l.layout === layout)) return NOT_MEASURED;
    return formatNumber(h[layout]);
  };
  const rows = r.headline.map((h) => [h.runner, metricLabel(h), value(h, 'legacy'), value(h, 'hub'), formatRatio(h.ratio), h.better]);
  const n = r.runners.connections ? connectionsHeadlineN(r.runners.connections) : null;
  const atN = n === null ? '' : ` The connections metrics are taken at n = ${n} systems, the largest n measured in both layouts.`;
  const failureRows = r.headline.filter((h) => h.runner === 'failures');
  const pairs = failures ? comparePairs(failures) : [];
  const blocks: Block[] = [
    paragraph(rows.length === 0 ? 'No runner ran, so there is nothing to compare.' : HEADLINE_INTRO + atN),
  ];
  if (rows.length > 0) {
    blocks.push(table({
      id: 'headline', caption: `legacy against hub (${PAIRS[0].label})`,
      columns: [left('runner'), left('metric'), right('legacy'), right('hub'), right('hub/legacy'), left('better')], rows,
    }));
  }
  if (pairs.length > 0) blocks.push(paragraph(`Failures are compared like with like. ${pairs.map(pairScopeText).join(' ')}`));
  if (hasClusterColumn(failureRows)) {
    blocks.push(table({
      id: 'headline-ha', caption: `legacy-ha against hub-cluster (${PAIRS[1].label}): failures only`,
      columns: [left('runner'), left('metric'), right('legacy-ha'), right('hub-cluster'), right('hub-cluster/legacy-ha'), left('better')],
      rows: failureRows.map((h) => [h.runner, metricLabel(h), value(h, 'legacy-ha'), value(h, 'hub-cluster'), formatRatio(clusterRatioOf(h)), h.better]),
    }));
  }
  return { id: 'headline', title: 'Headline', blocks };
}
