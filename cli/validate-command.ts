/**
 * `untangle validate FILE...`: checks topology and scenario files completely before anything
 * starts — YAML, schema, cross-references, expressions, and a scenario against its topology — the
 * same checks `untangle run` makes first. Which kind a file is comes from its content (a file with
 * `runners:` is a scenario, one with `dataKinds:` a topology), so any path works. Prints
 * `FILE: ok (what it holds)` or every problem as `file:line:col: message`; exits 1 if any file has one.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { displayName, loadTopology, loadYamlFile, TOPOLOGY_FILE_BYTES_MAX, YamlFileError } from '../systems/topology/index.ts';
import { guessFile, SCENARIO_EXPECTED, TOPOLOGY_EXPECTED, type FileGuess } from '../systems/topology/recognize.ts';
import { loadScenarioWithTopology, RUNNER_ORDER, SCENARIO_FILE_BYTES_MAX } from '../scenarios/scenario.ts';

export type ValidateResult = { file: string; ok: true; summary: string } | { file: string; ok: false; lines: string[] };

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** What kind of file this is, read once with the generic checks (size, binary, YAML, aliases). */
function probe(file: string): FileGuess {
  let guess: FileGuess = { kind: 'other', looksLike: 'the file could not be read' };
  loadYamlFile(file, {
    schema: z.unknown(),
    recognize: (raw) => {
      guess = guessFile(raw);
      return guess.kind === 'other'
        ? `${guess.looksLike}, not a topology or a scenario: expected a topology (${TOPOLOGY_EXPECTED}) or a scenario (${SCENARIO_EXPECTED})`
        : undefined;
    },
    error: (f, issues) => new YamlFileError('file', f, issues),
    bytesMax: Math.max(TOPOLOGY_FILE_BYTES_MAX, SCENARIO_FILE_BYTES_MAX),
  });
  return guess;
}

/** Checks one file completely; never throws for a problem in the file. */
export function validateFile(file: string): ValidateResult {
  const name = displayName(file);
  try {
    const guess = probe(file);
    if (guess.kind === 'topology') {
      const t = loadTopology(file);
      return { file: name, ok: true, summary: `topology ${t.name}: ${plural(t.systems.length, 'system')}, ${plural(t.dataKinds.length, 'data kind')}, ${plural(t.flows.length, 'flow')}` };
    }
    const { scenario: s, topology: t } = loadScenarioWithTopology(file);
    const runners = RUNNER_ORDER.filter((r) => s.runners[r] !== undefined);
    const systems = s.systems ? `${s.systems.length} of its ${t.systems.length} systems` : plural(t.systems.length, 'system');
    return {
      file: name,
      ok: true,
      summary: `scenario ${s.name}: topology ${displayName(s.topologyFile)} (${systems}), layouts ${s.layouts.join(', ')}, ${runners.length === 1 ? 'runner' : 'runners'} ${runners.join(', ')}`,
    };
  } catch (e) {
    if (e instanceof YamlFileError) return { file: name, ok: false, lines: e.lines };
    throw e;
  }
}

export function registerValidateCommand(program: Command): void {
  program
    .command('validate')
    .description('check topology and scenario files completely (the checks `run` makes first) and list every problem as file:line:col')
    .argument('<files...>', 'topology or scenario files (YAML); which one is told by the content')
    .action((files: string[]) => {
      let failed = 0;
      for (const file of files) {
        const result = validateFile(file);
        if (result.ok) {
          process.stdout.write(`${result.file}: ok (${result.summary})\n`);
        } else {
          failed += 1;
          process.stdout.write(`${result.lines.join('\n')}\n`);
        }
      }
      if (failed > 0) {
        if (files.length > 1) process.stderr.write(`untangle validate: ${failed} of ${files.length} files have problems\n`);
        process.exitCode = 1;
      }
    });
}
