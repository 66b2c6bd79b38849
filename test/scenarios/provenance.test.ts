// What a run records about its code and files (scenarios/provenance.ts): the commit and whether the
// tree was dirty, read with git in the code's own folder; the scenario and topology files hashed and
// kept as text from one read. Real git in a temporary repository.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CODE_ROOT, readRunFile, sourceInfo } from '../../scenarios/provenance.ts';

const root = mkdtempSync(path.join(tmpdir(), 'untangle-provenance-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.invalid', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8' });

describe('sourceInfo', () => {
  it('reads the commit and whether the tree is dirty: a tracked change or an untracked file, not an ignored one', () => {
    const repo = path.join(root, 'repo');
    mkdirSync(repo);
    git(repo, 'init', '-q');
    writeFileSync(path.join(repo, '.gitignore'), 'results/\n');
    writeFileSync(path.join(repo, 'a.txt'), 'one\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'first');
    const head = git(repo, 'rev-parse', 'HEAD').trim();
    expect(sourceInfo(repo)).toEqual({ commit: head, dirty: false });
    mkdirSync(path.join(repo, 'results'));
    writeFileSync(path.join(repo, 'results', 'report.json'), '{}');
    expect(sourceInfo(repo)).toEqual({ commit: head, dirty: false });
    writeFileSync(path.join(repo, 'new.txt'), 'untracked\n');
    expect(sourceInfo(repo)).toEqual({ commit: head, dirty: true });
    rmSync(path.join(repo, 'new.txt'));
    writeFileSync(path.join(repo, 'a.txt'), 'two\n');
    expect(sourceInfo(repo)).toEqual({ commit: head, dirty: true });
    // A folder inside the checkout is not a checkout of its own (untangle installed inside another project).
    expect(sourceInfo(path.join(repo, 'results'))).toEqual({ commit: null, dirty: null, reason: `the code at ${path.join(repo, 'results')} is not a git checkout of its own (it lies inside ${repo})` });
  });

  it('gives the reason instead of a commit outside a checkout, without git, and in a repository with no commit yet', () => {
    const plain = path.join(root, 'plain');
    mkdirSync(plain);
    expect(sourceInfo(plain)).toEqual({ commit: null, dirty: null, reason: `the code at ${plain} is not a git checkout` });
    const empty = path.join(root, 'empty');
    mkdirSync(empty);
    git(empty, 'init', '-q');
    expect(sourceInfo(empty)).toMatchObject({ commit: null, dirty: null, reason: expect.stringMatching(/^git rev-parse failed: /) });
    const pathBefore = process.env.PATH;
    process.env.PATH = path.join(root, 'no-bin');
    try {
      expect(sourceInfo(plain)).toEqual({ commit: null, dirty: null, reason: 'git is not installed (no git on the PATH)' });
    } finally {
      process.env.PATH = pathBefore;
    }
  });

  it('asks about the code\'s own folder, whatever the working directory', () => {
    expect(path.isAbsolute(CODE_ROOT)).toBe(true);
    const here = sourceInfo();
    if (here.commit !== null) expect(here.commit).toBe(git(CODE_ROOT, 'rev-parse', 'HEAD').trim());
  });
});

describe('readRunFile', () => {
  it('hashes the bytes it read and keeps them as text', () => {
    const file = path.join(root, 'shop.yaml');
    const text = '# the shop – A to I\nname: shop\n';
    writeFileSync(file, text);
    expect(readRunFile('topology', file)).toEqual({ what: 'topology', file, sha256: createHash('sha256').update(text).digest('hex'), text });
  });

  it('keeps only the hash of a file over the limit or not UTF-8, and says so; neither of one it cannot read', () => {
    const big = path.join(root, 'big.yaml');
    writeFileSync(big, 'x'.repeat(101));
    expect(readRunFile('scenario', big, 100)).toEqual({ what: 'scenario', file: big, sha256: createHash('sha256').update('x'.repeat(101)).digest('hex'),
      note: `the scenario file ${big} is 101 bytes, more than the 100 a report carries: only its sha256 is recorded, not its text` });
    const latin1 = path.join(root, 'latin1.yaml');
    writeFileSync(latin1, Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0xe9, 0x0a]));
    expect(readRunFile('topology', latin1).note).toBe(`the topology file ${latin1} is not UTF-8 text: only its sha256 is recorded, not its text`);
    const missing = path.join(root, 'missing.yaml');
    expect(readRunFile('topology', missing)).toEqual({ what: 'topology', file: missing, note: expect.stringMatching(/could not be read at the start of the run \(ENOENT/) });
  });
});
