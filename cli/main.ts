import { Command } from 'commander';
import { registerBrokerCommand } from './broker-command.ts';
import { registerClusterCommand } from './cluster-command.ts';
import { registerSystemCommands } from './system-command.ts';
import { registerRunCommand } from './run-command.ts';
import { registerReportCommands } from './report-command.ts';
import { registerValidateCommand } from './validate-command.ts';

const program = new Command();
program
  .name('untangle')
  .description('Measure point-to-point integration against a Kafka-style hub, with our own Kafka-wire-compatible broker')
  .showHelpAfterError()
  .configureHelp({ sortSubcommands: true });

registerBrokerCommand(program);
registerClusterCommand(program);
registerSystemCommands(program);
registerRunCommand(program);
registerReportCommands(program);
registerValidateCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Expected failures (a bad topology file, an unreachable peer) print their message, not a stack.
  process.stderr.write(`untangle: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
