/**
 * What a report must carry so a reader can tell exactly what ran: the git commit of this checkout and
 * whether its working tree had changes (report.source), and the scenario and topology files as the run
 * read them, each read once, hashed and kept as text (report.scenario / report.topology text and sha256).
 * Read at the start of a run; every failure becomes a null or a missing text with the reason, never a
 * failed run.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FILE_TEXT_CHARS_MAX, type ReportSource } from '../report/model.ts';

/** The root of the untangle code that is running (git is asked about this folder, not the caller's working directory). */
export const CODE_ROOT: string = path.resolve(fileURLToPath(new URL('..', import.meta.url)));

/** How long one git command may take. */
export const GIT_TIMEOUT_MS = 10_000;
/** The most output a git command may print (git status of a huge untracked tree): more is a failure, not a hang. */
const GIT_OUTPUT_BYTES_MAX = 16 * 1024 * 1024;

type GitResult = { ok: true; stdout: string } | { ok: false; reason: string };

/** Runs git in `cwd`; a failure comes back as a sentence saying why. */
function git(cwd: string, args: readonly string[]): GitResult {
  try {
    const stdout = execFileSync('git', args, {
      cwd, encoding: 'utf8', timeout: GIT_TIMEOUT_MS, maxBuffer: GIT_OUTPUT_BYTES_MAX, stdio: ['ignore', 'pipe', 'pipe'],
      // Never wait for a credential prompt or a pager; never take a repository from the environment.
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_PAGER: 'cat', GIT_DIR: undefined, GIT_WORK_TREE: undefined },
    });
    return { ok: true, stdout };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string; signal?: string | null };
    if (e.code === 'ENOENT') return { ok: false, reason: 'git is not installed (no git on the PATH)' };
    if (e.code === 'ETIMEDOUT' || e.signal === 'SIGTERM') return { ok: false, reason: `git ${args[0]} did not finish within ${GIT_TIMEOUT_MS / 1000} s` };
    const said = (e.stderr ?? '').split('\n').map((l) => l.trim()).find((l) => l !== '') ?? e.message.split('\n')[0];
    if (/not a git repository/i.test(said)) return { ok: false, reason: `the code at ${cwd} is not a git checkout` };
    return { ok: false, reason: `git ${args[0]} failed: ${said}` };
  }
}

function sameDir(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/**
 * The commit of the checkout at `root` (the running code's, by default) and whether its working tree
 * had changes: tracked files changed, staged or deleted, or untracked files git does not ignore.
 * A `root` inside another repository (untangle installed into someone's project) is not a checkout of untangle.
 */
export function sourceInfo(root: string = CODE_ROOT): ReportSource {
  const head = git(root, ['rev-parse', '--show-toplevel', 'HEAD']);
  if (!head.ok) return { commit: null, dirty: null, reason: head.reason };
  const [toplevel = '', commit = ''] = head.stdout.split('\n').map((l) => l.trim());
  if (!sameDir(toplevel, root)) return { commit: null, dirty: null, reason: `the code at ${root} is not a git checkout of its own (it lies inside ${toplevel})` };
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit)) return { commit: null, dirty: null, reason: `git rev-parse HEAD printed no commit hash ("${commit.slice(0, 80)}")` };
  const status = git(root, ['status', '--porcelain', '--untracked-files=normal']);
  if (!status.ok) return { commit, dirty: null, reason: status.reason };
  return { commit, dirty: status.stdout.trim() !== '' };
}

/** One of the run's files as it read it: the hash of its bytes, their text, or why either is missing. */
export interface RunFile {
  what: 'scenario' | 'topology';
  file: string;
  /** Hex SHA-256 of the bytes read; undefined when the file could not be read. */
  sha256?: string;
  /** The same bytes as text; undefined when unreadable, over FILE_TEXT_CHARS_MAX or not UTF-8 (note says why). */
  text?: string;
  /** For the report's notes, when the text (or the hash) is missing. */
  note?: string;
}

/** The text of `bytes` when it is exactly those bytes in UTF-8, else undefined. */
function exactUtf8(bytes: Buffer): string | undefined {
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : undefined;
}

/**
 * Reads a run's file once and keeps its hash and text. The loaders already refused a file over their
 * limit before the run (1 MiB topology, 256 KiB scenario); one that grew since is hashed whole but its
 * text is left out with a note, so a report never carries an unbounded text.
 */
export function readRunFile(what: RunFile['what'], file: string, textCharsMax = FILE_TEXT_CHARS_MAX): RunFile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    return { what, file, note: `the ${what} file ${file} could not be read at the start of the run (${(err as Error).message.split('\n')[0]}): the report has neither its hash nor its text` };
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (bytes.length > textCharsMax) {
    return { what, file, sha256, note: `the ${what} file ${file} is ${bytes.length} bytes, more than the ${textCharsMax} a report carries: only its sha256 is recorded, not its text` };
  }
  const text = exactUtf8(bytes);
  if (text === undefined) return { what, file, sha256, note: `the ${what} file ${file} is not UTF-8 text: only its sha256 is recorded, not its text` };
  return { what, file, sha256, text };
}

/** Hex SHA-256 of a file's bytes now; undefined when it cannot be read. */
export function fileSha256(file: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return undefined;
  }
}
