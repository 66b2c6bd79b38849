/**
 * The line the README puts above a quoted reference run's headline: where and how it was measured,
 * taken from that run's report.json (a test keeps the README's copy equal to it), so the README can
 * never name another machine than the report does.
 */
import { formatBytes } from './format.ts';
import type { Report } from './model.ts';

export function measuredOnLine(r: Report): string {
  const m = r.machine;
  const v = r.versions;
  const runs = r.runners.throughput?.method.repeats;
  return `Measured on ${m.cores} cores (${m.cpuModel}), ${formatBytes(m.memoryBytes)}, ${m.os}, Node ${v.node.replace(/^v/, '')}, `
    + `${v.rabbitmq ?? 'no RabbitMQ'}, seed ${r.seed}${runs !== undefined ? `, throughput and cost over ${runs} runs` : ''}; `
    + `run ${r.runId}, ${r.startedAt.slice(0, 10)}.`;
}
