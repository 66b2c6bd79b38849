import path from 'node:path';
import { Option, type Command } from 'commander';
import { assertChromium, chromiumPath } from '../report/chromium.ts';
import { PAPERS, type Paper } from '../report/pdf.ts';

/**
 * `untangle report DIR` re-renders a run's report.md and report.html from its report.json, and with
 * --pdf prints report.html to report.pdf in headless Chromium; `untangle diff A B` compares two runs by
 * the rule report/diff.ts states.
 */
export function registerReportCommands(program: Command): void {
  program
    .command('report')
    .description('render report.md and report.html again from a results folder\'s report.json (validated against report/report.schema.json); '
      + 'with --pdf also print report.html to report.pdf in headless Chromium (UNTANGLE_CHROMIUM names it; default /usr/bin/chromium)')
    .argument('<dir>', 'a run\'s results folder, e.g. results/<run-id>')
    .option('--pdf', 'also write report.pdf: report.html printed offline (nothing fetched), with page numbers')
    .addOption(new Option('--paper <size>', 'the PDF\'s paper size, portrait (with --pdf; default a4)').choices(PAPERS))
    .action(async (dir: string, opts: { pdf?: boolean; paper?: Paper }) => {
      if (opts.paper !== undefined && !opts.pdf) throw new Error('--paper sets the paper of the PDF: use it with --pdf');
      // A missing Chromium is said before anything is rendered.
      if (opts.pdf) assertChromium(chromiumPath());
      // Loaded here, not at the top: every system process starts through this CLI and should not pay for the chart libraries.
      const { rerenderReport } = await import('../report/write.ts');
      const files = await rerenderReport(path.resolve(dir));
      process.stdout.write(`${files.md}\n${files.html}\n`);
      if (!opts.pdf) return;
      const { writeReportPdf } = await import('../report/pdf.ts');
      const pdf = await writeReportPdf(path.resolve(dir), { paper: opts.paper ?? 'a4' });
      if (pdf.blockedTotal > 0) {
        process.stderr.write(`untangle: report.html asked for ${pdf.blockedTotal} other resources; blocked, so the PDF lacks them: ${pdf.blocked.join(', ')}\n`);
      }
      process.stdout.write(`${pdf.file}\n`);
    });

  program
    .command('diff')
    .description('compare the headline metrics of two runs (B against A), each change judged against the runs\' noise (better, worse, '
      + 'within noise, or single run: cannot tell), and say what differs between the runs themselves (scenario, topology, machine, versions, settings); '
      + 'runs over different topologies (by the files\' hashes, or the systems and links that ran) get a warning at the top')
    .argument('<dirA>', 'the first run\'s results folder (the baseline)')
    .argument('<dirB>', 'the second run\'s results folder')
    .action(async (dirA: string, dirB: string) => {
      const [{ readReport }, { diffReports, formatDiff }] = await Promise.all([import('../report/write.ts'), import('../report/diff.ts')]);
      const [a, b] = await Promise.all([readReport(path.resolve(dirA)), readReport(path.resolve(dirB))]);
      process.stdout.write(`${formatDiff(diffReports(a, b), { a: dirA, b: dirB })}\n`);
    });
}
