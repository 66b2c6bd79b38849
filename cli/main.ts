/**
 * The `untangle` command. Every process of a landscape (each system instance, the lake sink) starts
 * through it too, dozens at once on a small machine, so each command's module is imported only
 * when that command runs (or when help lists them all): a system process does not load the
 * broker, the runners or the report renderers.
 */
import { Command } from 'commander';

type Register = (program: Command) => void;
const COMMANDS: Record<string, () => Promise<Register>> = {
  broker: async () => (await import('./broker-command.ts')).registerBrokerCommand,
  cluster: async () => (await import('./cluster-command.ts')).registerClusterCommand,
  system: async () => (await import('./system-command.ts')).registerSystemCommands,
  'lake-sink': async () => (await import('./system-command.ts')).registerSystemCommands,
  run: async () => (await import('./run-command.ts')).registerRunCommand,
  report: async () => (await import('./report-command.ts')).registerReportCommands,
  diff: async () => (await import('./report-command.ts')).registerReportCommands,
  validate: async () => (await import('./validate-command.ts')).registerValidateCommand,
  users: async () => (await import('./users-command.ts')).registerUsersCommand,
};

const program = new Command();
program
  .name('untangle')
  .description('Measure point-to-point integration against a Kafka-style hub, with our own Kafka-wire-compatible broker')
  .showHelpAfterError()
  .configureHelp({ sortSubcommands: true });

const named = process.argv[2];
const loaders = named !== undefined && Object.hasOwn(COMMANDS, named) ? [COMMANDS[named]] : [...new Set(Object.values(COMMANDS))];
const registered = new Set<Register>();
for (const load of loaders) {
  const register = await load();
  if (registered.has(register)) continue;
  registered.add(register);
  register(program);
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Expected failures (a bad topology file, an unreachable peer) print their message, not a stack.
  process.stderr.write(`untangle: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
