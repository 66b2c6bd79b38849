/** Problems found in a topology, and the error that carries all of them at once. */

export type PathSegment = string | number;

/** A problem before it has a position: where in the data it is and what was expected. */
export interface Problem {
  readonly path: readonly PathSegment[];
  /** Point at the key of the last path segment (e.g. an unknown key) rather than its value. */
  readonly at?: 'key' | 'value';
  readonly message: string;
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

/** A YAML file that failed its checks; the message lists every problem, one a line. */
export class YamlFileError extends Error {
  readonly file: string;
  readonly issues: readonly TopologyIssue[];

  constructor(what: string, file: string, issues: readonly TopologyIssue[]) {
    const n = issues.length;
    super(`invalid ${what} ${file} (${n} problem${n === 1 ? '' : 's'}):\n${issues.map(formatIssue).join('\n')}`);
    this.name = 'YamlFileError';
    this.file = file;
    this.issues = issues;
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
