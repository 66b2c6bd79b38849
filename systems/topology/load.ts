/** Loading a topology file: YAML syntax, then schema and cross-reference checks, all reported at once. */
import fs from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { formatPath, TopologyError, type Problem, type TopologyIssue } from './errors.ts';
import { problemsFromIssue } from './issues.ts';
import type { Topology } from './model.ts';
import { locate } from './positions.ts';
import { topologySchema } from './schema.ts';
import { checkSemantics } from './semantics.ts';

/** Bigger files are refused before parsing; a landscape description is a few kilobytes. */
export const TOPOLOGY_FILE_BYTES_MAX = 1024 * 1024;

function firstLine(message: string): string {
  return message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
}

function byPosition(a: TopologyIssue, b: TopologyIssue): number {
  return a.line - b.line || a.col - b.col || a.path.localeCompare(b.path);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Parses and validates topology text; `fileName` is only used in messages. Throws TopologyError. */
export function parseTopology(text: string, fileName: string): Topology {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e): TopologyIssue => {
      const pos = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
      return { file: fileName, line: pos.line, col: pos.col, path: '', message: `YAML syntax error: ${firstLine(e.message)} (${e.code})` };
    });
    throw new TopologyError(fileName, issues.sort(byPosition));
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  const parsed = topologySchema.safeParse(raw);
  const problems: Problem[] = parsed.success ? [] : parsed.error.issues.flatMap((i) => problemsFromIssue(i, topologySchema, raw));
  problems.push(...checkSemantics(raw));
  if (problems.length === 0 && parsed.success) return deepFreeze(parsed.data);

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
  throw new TopologyError(fileName, issues.sort(byPosition));
}

/** The path as shown in messages: relative to the working directory when inside it. */
function displayName(file: string): string {
  const relative = path.relative(process.cwd(), path.resolve(file));
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

/** Reads and validates a topology file (synchronously). Throws TopologyError listing every problem. */
export function loadTopology(file: string): Topology {
  const name = displayName(file);
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch (e) {
    throw new TopologyError(name, [{ file: name, line: 1, col: 1, path: '', message: `cannot read the file: ${(e as Error).message}` }]);
  }
  if (size > TOPOLOGY_FILE_BYTES_MAX) {
    throw new TopologyError(name, [{ file: name, line: 1, col: 1, path: '', message: `file is ${size} bytes (expected at most ${TOPOLOGY_FILE_BYTES_MAX})` }]);
  }
  return parseTopology(fs.readFileSync(file, 'utf8'), name);
}
