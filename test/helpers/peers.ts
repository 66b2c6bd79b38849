// Optional external peers (kcat, python confluent_kafka, RabbitMQ, Chromium, poppler's pdftotext). Locally a missing peer skips its
// tests with a loud warning; under CI=true a missing peer is a failing test.
//
//   const hasKcat = await requirePeer('kcat', peerChecks.kcat);
//   describe.runIf(hasKcat)('kcat', () => { ... });
import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { test } from 'vitest';
import { chromiumPath } from '../../report/chromium.ts';

const execFileP = promisify(execFile);

export const PYTHON = '/usr/bin/python3';
export const RABBITMQ_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
/** The Chromium `untangle report --pdf` uses (report/chromium.ts: UNTANGLE_CHROMIUM, CHROMIUM_PATH, or where Debian installs it). */
export const CHROMIUM_PATH = chromiumPath();

/** Returns true when the peer is usable. `check` throws (or rejects) when it is not. */
export async function requirePeer(name: string, check: () => unknown): Promise<boolean> {
  try {
    await check();
    return true;
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    const msg = `required peer "${name}" is not available: ${why}`;
    if (process.env.CI === 'true') {
      test(`peer ${name} is available`, () => {
        throw new Error(`${msg}. CI=true, so this is a failure, not a skip. Install it in the CI image.`);
      });
    } else {
      console.warn(`\n${'!'.repeat(78)}\n!!! SKIPPING tests: ${msg}\n!!! (set CI=true to turn this into a failure)\n${'!'.repeat(78)}\n`);
    }
    return false;
  }
}

export const peerChecks = {
  kcat: async () => { await execFileP('kcat', ['-V'], { timeout: 10_000 }); },
  confluentKafka: async () => {
    await execFileP(PYTHON, ['-c', 'import confluent_kafka; print(confluent_kafka.libversion())'], { timeout: 20_000 });
  },
  chromium: async (executable = CHROMIUM_PATH) => { await execFileP(executable, ['--version'], { timeout: 20_000 }); },
  /** pdftotext and pdfinfo (Debian: poppler-utils), to read a PDF back. */
  poppler: async () => {
    await execFileP('pdftotext', ['-v'], { timeout: 10_000 });
    await execFileP('pdfinfo', ['-v'], { timeout: 10_000 });
  },
  rabbitmq: (url = RABBITMQ_URL) => new Promise<void>((resolve, reject) => {
    const u = new URL(url);
    const s = net.connect({ host: u.hostname, port: Number(u.port || 5672) });
    const t = setTimeout(() => { s.destroy(); reject(new Error(`no answer from ${u.host}`)); }, 3000);
    s.once('connect', () => { clearTimeout(t); s.end(); resolve(); });
    s.once('error', (e) => { clearTimeout(t); reject(e); });
  }),
};
