import path from 'node:path';
import type { Command } from 'commander';

/**
 * `untangle report DIR` re-renders a run's report.md and report.html from its report.json;
 * `untangle diff A B` compares two runs by the rule report/diff.ts states.
 */
export function registerReportCommands(program: Command): void {
  program
    .command('report')
    .description('render report.md and report.html again from a results folder\'s report.json (validated against report/report.schema.json)')
    .argument('<dir>', 'a run\'s results folder, e.g. results/<run-id>')
    .action(async (dir: string) => {
      // Loaded here, not at the top: every system process starts through this CLI and should not pay for the chart libraries.
      const { rerenderReport } = await import('../report/write.ts');
      const files = await rerenderReport(path.resolve(dir));
      process.stdout.write(`${files.md}\n${files.html}\n`);
    });

  program
    .command('diff')
    .description('compare the headline metrics of two runs (B against A), each change judged against the runs\' noise (better, worse, '
      + 'within noise, or single run: cannot tell), and say what differs between the runs themselves (scenario, topology, machine, versions, settings)')
    .argument('<dirA>', 'the first run\'s results folder (the baseline)')
    .argument('<dirB>', 'the second run\'s results folder')
    .action(async (dirA: string, dirB: string) => {
      const [{ readReport }, { diffReports, formatDiff }] = await Promise.all([import('../report/write.ts'), import('../report/diff.ts')]);
      const [a, b] = await Promise.all([readReport(path.resolve(dirA)), readReport(path.resolve(dirB))]);
      process.stdout.write(`${formatDiff(diffReports(a, b), { a: dirA, b: dirB })}\n`);
    });
}
