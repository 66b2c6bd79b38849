/**
 * Loading a YAML file checked by a zod schema, with every problem reported at once as
 * file:line:col and a plain sentence. Topology files and scenario files both go through here.
 *
 * Hostile or mistaken input gets one clear answer and never hangs or eats memory: a file over the
 * size limit is refused before it is read, a binary file before it is parsed, a YAML alias bomb
 * (aliases expanding exponentially) when its aliases are resolved, and a file of another kind
 * (a scenario where a topology is expected, a report.json, a package.json, an empty file) by the
 * kind's recognizer before the schema lists dozens of complaints. Messages never echo the file's
 * content beyond a short quoted value, nor the YAML or schema library's own wording.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isAlias, isCollection, isPair, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { formatPath, type Problem, type TopologyIssue, type YamlFileError } from './errors.ts';
import { problemsFromIssue } from './issues.ts';
import { locate } from './positions.ts';

export interface YamlFileKind<T> {
  schema: z.ZodType<T>;
  /** Checks beyond the schema (cross-references), run on the raw data even when the schema fails. */
  extraProblems?: (raw: unknown) => Problem[];
  /**
   * Says, before the schema runs, that the file is not of this kind at all: returns one plain
   * sentence (what the file looks like and what was expected), reported as the only problem at 1:1,
   * or undefined to go on. `raw` is the parsed data, or the file's bytes (a Uint8Array) when they
   * are not text. See recognizeTopology in recognize.ts.
   */
  recognize?: (raw: unknown) => string | undefined;
  /** Wraps the located problems in this kind's error. */
  error: (file: string, issues: TopologyIssue[]) => YamlFileError;
  /** Bigger files are refused before parsing. */
  bytesMax: number;
}

/**
 * Resolving aliases (*name) may copy an anchored value at most this many times in all, counted as
 * the yaml package counts them (maxAliasCount); a billion-laughs file exceeds it at once. Plenty
 * for the usual reuse of a block or two.
 */
export const ALIAS_EXPANSIONS_MAX = 100;

/** Text of a YAML library error reduced to its first plain sentence: no position suffix, no source excerpt. */
export function plainSentence(message: string): string {
  const first = message.split('\n')[0].replace(/ at line \d+, column \d+:?\s*$/, '').trim();
  // Some messages quote a token of the source: keep such quotes short.
  const sentence = first.split(/(?<=[a-z)])\. /)[0].replace(/\.$/, '').replace(/\S{41,}/g, (word) => `${word.slice(0, 40)}…`);
  return sentence.length > 120 ? `${sentence.slice(0, 120)}…` : sentence;
}

function byPosition(a: TopologyIssue, b: TopologyIssue): number {
  return a.line - b.line || a.col - b.col || a.path.localeCompare(b.path);
}

/** Invalid UTF-8 or a NUL byte: not a text file. */
function isBinary(bytes: Uint8Array): boolean {
  if (bytes.includes(0)) return true;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return false;
  } catch {
    return true;
  }
}

// eslint-disable-next-line no-control-regex -- control characters are exactly what is looked for
const CONTROL_CHARACTER = /[\u0001-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** The problem for a file that is not text, from the kind's recognizer when it has one. */
function binaryMessage<T>(bytes: Uint8Array, kind: YamlFileKind<T>): string {
  return kind.recognize?.(bytes) ?? 'this is a binary file, not YAML text';
}

/** Every node of the document paired with the anchored node each alias stands for (the last one before it). */
function aliasTargets(doc: Document): Map<Node, Node | undefined> {
  const anchors = new Map<string, Node>();
  const targets = new Map<Node, Node | undefined>();
  visit(doc, {
    Node: (_key, node) => {
      if (isAlias(node)) targets.set(node, anchors.get(node.source));
      else if (node.anchor) anchors.set(node.anchor, node);
    },
  });
  return targets;
}

/**
 * How many values a node stands for once its aliases are expanded (memoized, so linear in the
 * document; an alias inside its own anchor counts as endless).
 */
function expandedSize(targets: ReadonlyMap<Node, Node | undefined>): (node: unknown) => number {
  const sizes = new Map<unknown, number>();
  const inProgress = new Set<unknown>();
  const size = (node: unknown): number => {
    if (node === null || typeof node !== 'object') return 1;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    if (inProgress.has(node)) return Infinity;
    inProgress.add(node);
    let n = 1;
    if (isAlias(node)) {
      const target = targets.get(node);
      n = target ? size(target) : 1;
    } else if (isPair(node)) {
      n = size(node.key) + size(node.value);
    } else if (isCollection(node)) {
      for (const item of node.items) n += size(item);
    }
    inProgress.delete(node);
    sizes.set(node, n);
    return n;
  };
  return size;
}

/** Turning the document into data failed: the problem at the alias responsible when aliases were the cause. */
function toDataProblem(doc: Document, lineCounter: LineCounter, error: unknown, fileName: string): TopologyIssue {
  const at = (node: Node | undefined, message: string): TopologyIssue => {
    const pos = lineCounter.linePos(node?.range?.[0] ?? 0);
    return problem(fileName, message, pos.line, pos.col);
  };
  const text = error instanceof Error ? error.message : String(error);
  if (error instanceof RangeError) return at(undefined, TOO_DEEP);
  const targets = aliasTargets(doc);
  const aliases = [...targets.keys()];
  if (/Excessive alias count/i.test(text)) {
    const size = expandedSize(targets);
    let worst: Node | undefined;
    let worstSize = -1;
    for (const a of aliases) {
      let s: number;
      try {
        s = size(a);
      } catch {
        s = Infinity; // nested deep enough to exhaust the stack: certainly too much
      }
      if (s > worstSize) [worst, worstSize] = [a, s];
    }
    const about = Number.isFinite(worstSize) && worstSize > 1 ? ` (about ${Math.round(worstSize).toLocaleString('en-US')} values)` : '';
    return at(worst, `refused: the YAML aliases (*name) here expand to too many copies${about}, the way a YAML alias bomb exhausts memory; `
      + `a file may copy anchored values at most ${ALIAS_EXPANSIONS_MAX} times through aliases (expected the values written out instead)`);
  }
  const unresolved = aliases.find((a) => targets.get(a) === undefined);
  if (unresolved) return at(unresolved, 'an alias (*name) refers to an anchor (&name) that is not defined before it (expected the anchor first)');
  return at(undefined, `the YAML could not be turned into data: ${plainSentence(text)}`);
}

const TOO_DEEP = 'the file nests lists and mappings too deeply to be read (expected a few levels, as in the examples)';

/** The 1-based line and column of a character offset, counted directly (before the YAML parser runs). */
function positionOf(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) [line, lineStart] = [line + 1, i + 1];
  return { line, col: offset - lineStart + 1 };
}

function problem(fileName: string, message: string, line = 1, col = 1): TopologyIssue {
  return { file: fileName, line, col, path: '', message };
}

/** Parses and validates YAML text; `fileName` is only used in messages. */
export function parseYamlFile<T>(text: string, fileName: string, kind: YamlFileKind<T>): T {
  if (text.includes('\u0000') || text.includes('\ufffd')) {
    throw kind.error(fileName, [problem(fileName, binaryMessage(Buffer.from(text, 'utf8'), kind))]);
  }
  const control = CONTROL_CHARACTER.exec(text);
  if (control) {
    const pos = positionOf(text, control.index);
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    throw kind.error(fileName, [problem(fileName, `a control character (U+${code}) is not allowed in a YAML file (expected text: tabs and line breaks only)`, pos.line, pos.col)]);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // Nesting too deep makes one error per level beyond the limit: the first says it.
    const exhausted = doc.errors.findIndex((e) => e.code === 'RESOURCE_EXHAUSTION');
    const errors = doc.errors.filter((e, i) => e.code !== 'RESOURCE_EXHAUSTION' || i === exhausted);
    const issues = errors.map((e): TopologyIssue => {
      const pos = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
      const message = e.code === 'RESOURCE_EXHAUSTION'
        ? TOO_DEEP
        : `YAML syntax error: ${plainSentence(e.message)} (${e.code})`;
      return problem(fileName, message, pos.line, pos.col);
    });
    throw kind.error(fileName, issues.sort(byPosition));
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: ALIAS_EXPANSIONS_MAX });
  } catch (e) {
    throw kind.error(fileName, [toDataProblem(doc, lineCounter, e, fileName)]);
  }
  const notThisKind = kind.recognize?.(raw);
  if (notThisKind !== undefined) throw kind.error(fileName, [problem(fileName, notThisKind)]);

  let parsed: ReturnType<typeof kind.schema.safeParse>;
  const problems: Problem[] = [];
  try {
    parsed = kind.schema.safeParse(raw);
    if (!parsed.success) problems.push(...parsed.error.issues.flatMap((i) => problemsFromIssue(i, kind.schema, raw)));
    problems.push(...(kind.extraProblems?.(raw) ?? []));
  } catch (e) {
    // Nesting just under the parser's limit can still exhaust the stack of a recursive check.
    if (e instanceof RangeError) throw kind.error(fileName, [problem(fileName, TOO_DEEP)]);
    throw e;
  }
  if (problems.length === 0 && parsed.success) return parsed.data;

  const seen = new Set<string>();
  const located: { issue: TopologyIssue; details: readonly TopologyIssue[] }[] = [];
  for (const p of problems) {
    const pos = locate(doc, lineCounter, p.path, p.at);
    const issue = { file: fileName, line: pos.line, col: pos.col, path: formatPath(p.path), message: p.message };
    const key = `${issue.line}:${issue.col}:${issue.path}:${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    located.push({ issue, details: p.details ?? [] });
  }
  located.sort((a, b) => byPosition(a.issue, b.issue));
  throw kind.error(fileName, located.flatMap((l) => [l.issue, ...l.details]));
}

/** The path as shown in messages: relative to the working directory when inside it. */
export function displayName(file: string): string {
  const relative = path.relative(process.cwd(), path.resolve(file));
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

/** Why a file could not be read, in words (the file name is already in the message). */
function readFailure(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'cannot read the file: it does not exist';
  if (code === 'EACCES' || code === 'EPERM') return 'cannot read the file: permission denied';
  if (code === 'ENOTDIR') return 'cannot read the file: a part of its path is not a directory';
  return `cannot read the file: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
}

/** At most `bytesMax + 1` bytes of a file: enough to tell that it is over the limit, never more. */
function readBounded(file: string, bytesMax: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(bytesMax + 1);
    let length = 0;
    while (length < buffer.length) {
      const n = fs.readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    return buffer.subarray(0, length);
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads (synchronously, size-checked, binary files refused) and validates a YAML file. */
export function loadYamlFile<T>(file: string, kind: YamlFileKind<T>): T {
  const name = displayName(file);
  const fail = (message: string): never => { throw kind.error(name, [problem(name, message)]); };
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(file);
  } catch (e) {
    fail(readFailure(e));
  }
  if (stat!.isDirectory()) fail('this is a directory, not a file (expected a YAML file)');
  if (!stat!.isFile()) fail('this is not a regular file (a device, a pipe or a socket; expected a YAML file)');
  if (stat!.size > kind.bytesMax) fail(`file is ${stat!.size} bytes (expected at most ${kind.bytesMax})`);
  let bytes: Buffer | undefined;
  try {
    bytes = readBounded(file, kind.bytesMax);
  } catch (e) {
    fail(readFailure(e));
  }
  // A file that grew since it was measured is still held to the limit.
  if (bytes!.length > kind.bytesMax) fail(`file is over ${kind.bytesMax} bytes (expected at most ${kind.bytesMax})`);
  if (isBinary(bytes!)) fail(binaryMessage(bytes!, kind));
  return parseYamlFile(bytes!.toString('utf8'), name, kind);
}
