// Machine ceiling: raw loopback TCP throughput with 1 MiB writes between two Node processes
// (a sink server in a child process, the writer here), the same shape as client -> broker.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { MB } from './types.ts';

const SINK = `
const net = require('node:net');
const srv = net.createServer((s) => {
  let bytes = 0, t0 = 0;
  s.on('data', (b) => { if (!t0) t0 = performance.now(); bytes += b.length; });
  s.on('end', () => { s.end(JSON.stringify({ bytes, seconds: (performance.now() - t0) / 1000 })); });
});
srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));
`;

export interface CeilingResult { writeBytes: number; seconds: number; bytes: number; MBPerSec: number }

export async function loopbackCeiling(seconds: number): Promise<CeilingResult> {
  const child = spawn(process.execPath, ['-e', SINK], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      child.once('exit', () => reject(new Error('sink exited')));
    });
    const chunk = Buffer.alloc(1 << 20, 0x5a);
    const s = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((r) => s.once('connect', () => r()));
    const reply: Buffer[] = [];
    s.on('data', (b) => reply.push(b));
    const done = new Promise<void>((r) => s.once('end', () => r()));
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      if (!s.write(chunk)) await new Promise<void>((r) => s.once('drain', () => r()));
    }
    s.end();
    await done;
    const res = JSON.parse(Buffer.concat(reply).toString()) as { bytes: number; seconds: number };
    return { writeBytes: chunk.length, seconds: res.seconds, bytes: res.bytes, MBPerSec: res.bytes / MB / res.seconds };
  } finally {
    child.kill();
  }
}
