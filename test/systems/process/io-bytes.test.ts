import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ioBytes, pidsListeningOn } from '../../../systems/process/os-stats.ts';

// /proc/PID/io wchar counts file and socket writes alike (the throughput runner's bytes per order),
// and the owner of a LISTEN socket can be found through /proc (how the runner finds RabbitMQ).

const dir = mkdtempSync(path.join(tmpdir(), 'untangle-io-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ioBytes', () => {
  it('counts a file write in wchar', () => {
    const before = ioBytes(process.pid);
    writeFileSync(path.join(dir, 'a.bin'), Buffer.alloc(1 << 20, 1));
    const after = ioBytes(process.pid);
    expect(after.writtenBytes - before.writtenBytes).toBeGreaterThanOrEqual(1 << 20);
    expect(after.readBytes).toBeGreaterThanOrEqual(before.readBytes);
  });

  it('counts socket writes in wchar', async () => {
    const server = net.createServer((s) => s.resume());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise<void>((r) => client.once('connect', r));
    const before = ioBytes(process.pid).writtenBytes;
    await new Promise<void>((r) => client.write(Buffer.alloc(256 * 1024, 2), () => r()));
    const after = ioBytes(process.pid).writtenBytes;
    client.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    expect(after - before).toBeGreaterThanOrEqual(256 * 1024);
  });

  it('a process that does not exist is a clear error', () => {
    expect(() => ioBytes(2 ** 22 + 12345)).toThrow(/does not exist/);
    expect(() => ioBytes(0)).toThrow(/not a process id/);
  });
});

describe('pidsListeningOn', () => {
  it('finds this process as the owner of its listening port', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const found = pidsListeningOn((server.address() as net.AddressInfo).port);
      expect(found.inodes).toHaveLength(1);
      expect(found.pids).toContain(process.pid);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('finds nobody on a port nothing listens on', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    expect(pidsListeningOn(port)).toMatchObject({ pids: [], inodes: [] });
  });
});
