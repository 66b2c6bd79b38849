/**
 * Problems found in a topology or scenario file, and the error that carries them at once: every
 * problem as file:line:col and a plain sentence, the first PROBLEMS_SHOWN_MAX of them in file order
 * and then how many more, so a badly broken file gives a readable answer rather than a wall of text.
 */

export type PathSegment = string | number;

/** A problem before it has a position: where in the data it is and what was expected. */
export interface Problem {
  readonly path: readonly PathSegment[];
  /** Point at the key of the last path segment (e.g. an unknown key) rather than its value. */
  readonly at?: 'key' | 'value';
  readonly message: string;
  /**
   * Problems in another file this one stands for (a scenario's invalid topology file), already
   * located there; listed right after this problem.
   */
  readonly details?: readonly TopologyIssue[];
}

/** A problem located in a file; line and col are 1-based. */
export interface TopologyIssue {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly path: string;
  readonly message: string;
}

export function formatIssue(issue: TopologyIssue): string {
  const where = issue.path === '' ? '' : `${issue.path}: `;
  return `${issue.file}:${issue.line}:${issue.col}: ${where}${issue.message}`;
}

/** Problems listed one a line; beyond this many, one line says how many more there are. */
export const PROBLEMS_SHOWN_MAX = 50;

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The lines that list problems: each as file:line:col, then "… and N more problems" when some were left out. */
export function formatIssueLines(issues: readonly TopologyIssue[], omitted = 0): string[] {
  const lines = issues.map(formatIssue);
  if (omitted > 0) lines.push(`… and ${plural(omitted, 'more problem')}`);
  return lines;
}

/**
 * A YAML file that failed its checks; the message lists its problems, one a line. Only the first
 * PROBLEMS_SHOWN_MAX (in the order given: file order) are kept in `issues`; `omitted` counts the rest.
 */
export class YamlFileError extends Error {
  readonly file: string;
  /** The problems shown, at most PROBLEMS_SHOWN_MAX. */
  readonly issues: readonly TopologyIssue[];
  /** How many problems were found beyond those in `issues`. */
  readonly omitted: number;

  constructor(what: string, file: string, issues: readonly TopologyIssue[]) {
    const shown = issues.slice(0, PROBLEMS_SHOWN_MAX);
    const omitted = issues.length - shown.length;
    super(`invalid ${what} ${file} (${plural(issues.length, 'problem')}):\n${formatIssueLines(shown, omitted).join('\n')}`);
    this.name = 'YamlFileError';
    this.file = file;
    this.issues = shown;
    this.omitted = omitted;
  }

  /** Every problem line: the shown problems, then "… and N more problems" when some were left out. */
  get lines(): string[] {
    return formatIssueLines(this.issues, this.omitted);
  }
}

/** Thrown by parseTopology/loadTopology/restrictTo. */
export class TopologyError extends YamlFileError {
  constructor(file: string, issues: readonly TopologyIssue[]) {
    super('topology', file, issues);
    this.name = 'TopologyError';
  }
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `flows[2].legacy.scheduleMs`; keys that are not identifiers are quoted: `systems[0]["my key"]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** A short rendering of a value found in the file, for "got ..." in messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null (an empty value)';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `a list of ${value.length} item${value.length === 1 ? '' : 's'}`;
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

/** Joins distinct names for messages: `A, B, C`, or `(none)`. */
export function listNames(names: readonly string[]): string {
  return names.length === 0 ? '(none)' : [...new Set(names)].join(', ');
}
