/**
 * Loading a YAML file checked by a zod schema, with every problem reported at once as
 * file:line:col. Topology files and scenario files both go through here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { formatPath, type Problem, type TopologyIssue, type YamlFileError } from './errors.ts';
import { problemsFromIssue } from './issues.ts';
import { locate } from './positions.ts';

export interface YamlFileKind<T> {
  schema: z.ZodType<T>;
  /** Checks beyond the schema (cross-references), run on the raw data even when the schema fails. */
  extraProblems?: (raw: unknown) => Problem[];
  /** Wraps the located problems in this kind's error. */
  error: (file: string, issues: TopologyIssue[]) => YamlFileError;
  /** Bigger files are refused before parsing. */
  bytesMax: number;
}

function firstLine(message: string): string {
  return message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
}

function byPosition(a: TopologyIssue, b: TopologyIssue): number {
  return a.line - b.line || a.col - b.col || a.path.localeCompare(b.path);
}

/** Parses and validates YAML text; `fileName` is only used in messages. */
export function parseYamlFile<T>(text: string, fileName: string, kind: YamlFileKind<T>): T {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e): TopologyIssue => {
      const pos = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
      return { file: fileName, line: pos.line, col: pos.col, path: '', message: `YAML syntax error: ${firstLine(e.message)} (${e.code})` };
    });
    throw kind.error(fileName, issues.sort(byPosition));
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  const parsed = kind.schema.safeParse(raw);
  const problems: Problem[] = parsed.success ? [] : parsed.error.issues.flatMap((i) => problemsFromIssue(i, kind.schema, raw));
  problems.push(...(kind.extraProblems?.(raw) ?? []));
  if (problems.length === 0 && parsed.success) return parsed.data;

  const seen = new Set<string>();
  const issues: TopologyIssue[] = [];
  for (const p of problems) {
    const pos = locate(doc, lineCounter, p.path, p.at);
    const issue = { file: fileName, line: pos.line, col: pos.col, path: formatPath(p.path), message: p.message };
    const key = `${issue.line}:${issue.col}:${issue.path}:${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue);
  }
  throw kind.error(fileName, issues.sort(byPosition));
}

/** The path as shown in messages: relative to the working directory when inside it. */
export function displayName(file: string): string {
  const relative = path.relative(process.cwd(), path.resolve(file));
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

/** Reads (synchronously, size-checked) and validates a YAML file. */
export function loadYamlFile<T>(file: string, kind: YamlFileKind<T>): T {
  const name = displayName(file);
  const fail = (message: string): never => { throw kind.error(name, [{ file: name, line: 1, col: 1, path: '', message }]); };
  let size = 0;
  try {
    size = fs.statSync(file).size;
  } catch (e) {
    fail(`cannot read the file: ${(e as Error).message}`);
  }
  if (size > kind.bytesMax) fail(`file is ${size} bytes (expected at most ${kind.bytesMax})`);
  return parseYamlFile(fs.readFileSync(file, 'utf8'), name, kind);
}
