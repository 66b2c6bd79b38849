/**
 * Where headless Chromium is and how it is started, for the PDF (report/pdf.ts) and the tests that open
 * report.html in it: one lookup, so `untangle report --pdf` and the tests use the same browser. Imports
 * nothing heavy (no playwright), so a test helper can read the path cheaply.
 */
import { accessSync, constants } from 'node:fs';

/** Where Debian-like systems install it, tried in this order when no variable names one. */
export const CHROMIUM_CANDIDATES: readonly string[] = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

/** What to do when it is missing, for every error that says so. */
export const CHROMIUM_HINT = 'install chromium (Debian: apt-get install chromium) or set UNTANGLE_CHROMIUM to its path';

/** Headless, no sandbox (it runs as root in CI), and nothing that calls home. */
export const CHROMIUM_ARGS: readonly string[] = ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--no-first-run'];

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The Chromium to use: UNTANGLE_CHROMIUM, else CHROMIUM_PATH (the name the tests used first), else the
 * first of CHROMIUM_CANDIDATES that is executable, else the first candidate (whose absence the caller reports).
 */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  const named = env.UNTANGLE_CHROMIUM?.trim() || env.CHROMIUM_PATH?.trim();
  if (named) return named;
  return CHROMIUM_CANDIDATES.find(isExecutable) ?? CHROMIUM_CANDIDATES[0];
}

/** Throws a clear error when `executable` is not an executable file. */
export function assertChromium(executable: string): void {
  if (!isExecutable(executable)) throw new Error(`Chromium not found: ${executable} is not an executable file; ${CHROMIUM_HINT}`);
}
