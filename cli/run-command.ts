/**
 * `untangle run FILE`: checks the scenario file completely (its schema and everything it says
 * against its topology, as `untangle validate` does) before anything starts, then runs its
 * runners on both layouts and writes the report.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';

interface RunCommandOptions {
  out?: string;
  quick: boolean;
  repeat?: string;
  keepWork: boolean;
  progress?: boolean;
}

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run a scenario file (both layouts, its runners) and write results/<run-id>/report.{md,html,json}')
    .argument('<file>', 'scenario file (YAML), e.g. scenarios/compare.yaml')
    .option('--out <dir>', 'write the report here instead of results/<run-id>/')
    .option('--quick', 'use the scenario\'s quick settings (fewer systems, shorter steps)', false)
    .option('--repeat <n>', 'run each repeated measurement n times (1-20; default the scenario\'s repeat, 1 with --quick): medians and 95 % intervals')
    .option('--keep-work', 'keep the landscapes\' scratch folders (logs, lake, inboxes) under <out>/work', false)
    .option('--no-progress', 'plain progress lines even on a terminal')
    .action(async (file: string, opts: RunCommandOptions) => {
      // Loaded here, not at the top: every system process starts through this CLI too, and should
      // not pay for the runners and the chart libraries. The complete check of the
      // scenario and its topology comes first: a bad file is refused before anything loads or starts.
      const { loadScenario } = await import('../scenarios/scenario.ts');
      const repeat = opts.repeat === undefined ? undefined : Number(opts.repeat);
      if (repeat !== undefined && !(Number.isInteger(repeat) && repeat >= 1 && repeat <= 20)) throw new Error(`--repeat must be a whole number from 1 to 20, got ${JSON.stringify(opts.repeat)}`);
      const scenario = loadScenario(file, { quick: opts.quick, repeat });
      const [{ newRunId, runScenario }, { createProgress }, { formatHeadlineTable }] = await Promise.all([
        import('../scenarios/run.ts'), import('../scenarios/progress.ts'), import('../report/headline.ts'),
      ]);
      const runId = newRunId(scenario);
      const outDir = path.resolve(opts.out ?? path.join('results', runId));
      if (existsSync(path.join(outDir, 'report.json'))) throw new Error(`${outDir} already holds a report; choose another --out`);
      const interactive = Boolean(process.stdout.isTTY) && !process.env.CI && opts.progress !== false;
      const controller = new AbortController();
      const onSignal = (): void => {
        if (controller.signal.aborted) process.exit(130);
        process.stderr.write('\ninterrupted: stopping the landscapes (press Ctrl-C again to quit at once)\n');
        controller.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      console.log(`untangle run ${scenario.name}${scenario.quick ? ' (quick)' : ''}: run ${runId}, layouts ${scenario.layouts.join(' and ')}, seed ${scenario.seed}${scenario.repeat > 1 ? `, ${scenario.repeat} runs per repeated measurement` : ''}`);
      mkdirSync(outDir, { recursive: true });
      const progress = createProgress({ interactive, logFile: path.join(outDir, 'run.log') });
      const outcome = await runScenario(scenario, { outDir, runId, progress, signal: controller.signal, keepWork: opts.keepWork });
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      console.log('');
      console.log(formatHeadlineTable(outcome.report.headline));
      console.log('');
      console.log(`report: ${path.relative(process.cwd(), outcome.files.html) || outcome.files.html}`);
      console.log(`        ${path.relative(process.cwd(), outcome.files.md) || outcome.files.md}`);
      console.log(`        ${path.relative(process.cwd(), outcome.files.json) || outcome.files.json}`);
      if (outcome.failed.length > 0) throw new Error(`runner${outcome.failed.length === 1 ? '' : 's'} ${outcome.failed.join(', ')} failed (see the report's notes)`);
    });
}
