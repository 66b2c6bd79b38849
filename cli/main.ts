import { Command } from 'commander';
import { registerBrokerCommand } from './broker-command.ts';

const program = new Command();
program
  .name('untangle')
  .description('Measure point-to-point integration against a Kafka-style hub, with our own Kafka-wire-compatible broker')
  .showHelpAfterError()
  .configureHelp({ sortSubcommands: true });

registerBrokerCommand(program);

await program.parseAsync(process.argv);
