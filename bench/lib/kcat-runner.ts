// kcat (librdkafka) against our broker: -P from a file (-l), -C -e -o beginning; e2e via stdin/stdout pipes.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { latencySummary, nowMs, sleep } from './stats.ts';
import type { BenchSettings, LatencyResult } from './types.ts';

export const KCAT_PRODUCE_OPTS = [
  '-X', 'queue.buffering.max.ms=10', '-X', 'batch.num.messages=100000', '-X', 'batch.size=1000000',
  '-X', 'queue.buffering.max.messages=2000000', '-X', 'queue.buffering.max.kbytes=2097151', '-X', 'socket.nagle.disable=true',
];
export const KCAT_CONSUME_OPTS = [
  '-X', 'fetch.wait.max.ms=100', '-X', 'queued.min.messages=1000000', '-X', 'fetch.message.max.bytes=4194304',
  '-X', 'socket.nagle.disable=true',
];

/** Write `n` newline-separated messages of exactly `size` bytes (a zero-padded counter, then filler). */
export async function writeMessageFile(file: string, n: number, size: number): Promise<void> {
  const out = createWriteStream(file);
  const line = size + 1;
  const perChunk = Math.max(1, Math.floor((4 << 20) / line));
  const chunk = Buffer.alloc(perChunk * line, 0x61);
  for (let k = 0; k < perChunk; k++) chunk[k * line + size] = 0x0a;
  for (let i = 0; i < n; i += perChunk) {
    const count = Math.min(perChunk, n - i);
    for (let k = 0; k < count; k++) {
      const digits = String(i + k).padStart(Math.min(12, size), '0');
      chunk.write(digits.slice(-Math.min(12, size)), k * line, 'latin1');
    }
    // write() keeps a reference, so hand it a copy: the chunk buffer is reused for the next lines.
    if (!out.write(Buffer.from(chunk.subarray(0, count * line)))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

interface KcatRun { seconds: number; code: number | null; stderr: string; lines: number; bytes: number }

/** Run kcat; count stdout lines and the sizes printed with '%S\n' when `sumSizes`. */
function runKcat(args: string[], sumSizes = false, timeoutMs = 300_000): Promise<KcatRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const c = spawn('kcat', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let lines = 0; let bytes = 0; let partial = '';
    c.stdout.setEncoding('latin1');
    c.stdout.on('data', (s: string) => {
      const parts = (partial + s).split('\n');
      partial = parts.pop() ?? '';
      lines += parts.length;
      if (sumSizes) for (const p of parts) bytes += Number(p);
    });
    c.stderr.setEncoding('utf8');
    c.stderr.on('data', (s: string) => { stderr = (stderr + s).slice(-8000); });
    const timer = setTimeout(() => { c.kill('SIGKILL'); reject(new Error(`kcat ${args.join(' ')} timed out\n${stderr}`)); }, timeoutMs);
    c.on('error', reject);
    c.on('close', (code) => { clearTimeout(timer); resolve({ seconds: (performance.now() - t0) / 1000, code, stderr, lines, bytes }); });
  });
}

export async function kcatProduce(address: string, topic: string, file: string): Promise<number> {
  const r = await runKcat(['-P', '-b', address, '-t', topic, ...KCAT_PRODUCE_OPTS, '-l', file]);
  if (r.code !== 0) throw new Error(`kcat -P exited ${r.code}: ${r.stderr}`);
  return r.seconds;
}

export async function kcatConsume(address: string, topic: string, expected: number, size: number): Promise<number> {
  // -c as well as -e: kcat stops at exactly `expected` even if end-of-partition is never signalled.
  const r = await runKcat(['-C', '-b', address, '-t', topic, '-o', 'beginning', '-e', '-c', String(expected), '-q', '-f', '%S\n',
    ...KCAT_CONSUME_OPTS], true);
  if (r.code !== 0) throw new Error(`kcat -C exited ${r.code}: ${r.stderr}`);
  if (r.lines !== expected || r.bytes !== expected * size) {
    throw new Error(`kcat -C read ${r.lines} messages / ${r.bytes} bytes, expected ${expected} / ${expected * size}`);
  }
  return r.seconds;
}

export async function kcatLatency(address: string, topic: string, size: number, s: BenchSettings): Promise<LatencyResult> {
  const total = Math.round(s.e2eRate * s.e2eSeconds);
  const cons = spawn('kcat', ['-C', '-b', address, '-t', topic, '-o', 'beginning', '-q', '-u', '-f', '%s\n',
    '-X', 'fetch.wait.max.ms=500', '-X', 'fetch.error.backoff.ms=10', '-X', 'socket.nagle.disable=true'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lat: number[] = [];
  let partial = '';
  let done!: () => void;
  const allIn = new Promise<void>((r) => { done = r; });
  cons.stdout.setEncoding('latin1');
  cons.stdout.on('data', (str: string) => {
    const now = nowMs();
    const parts = (partial + str).split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) lat.push(now - Number(p.slice(0, p.indexOf('|'))));
    if (lat.length >= total) done();
  });
  cons.stderr.resume();
  await sleep(1500); // let the consumer connect and start fetching
  const prod = spawn('kcat', ['-P', '-b', address, '-t', topic, '-X', 'queue.buffering.max.ms=0', '-X', 'socket.nagle.disable=true'],
    { stdio: ['pipe', 'ignore', 'pipe'] });
  prod.stderr.resume();
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const wait = t0 + (i * 1000) / s.e2eRate - performance.now();
    if (wait > 1) await sleep(wait);
    const ts = nowMs().toFixed(3);
    prod.stdin.write(`${ts}|${'c'.repeat(Math.max(0, size - ts.length - 1))}\n`);
  }
  prod.stdin.end();
  await Promise.race([allIn, sleep(30_000)]);
  prod.kill();
  cons.kill();
  if (lat.length < total) throw new Error(`kcat e2e: received ${lat.length}/${total}`);
  return latencySummary(lat);
}
