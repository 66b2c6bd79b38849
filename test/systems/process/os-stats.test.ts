import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Supervisor, type ProcessSpec } from '../../../systems/process/supervisor.ts';
import {
  clockTicks, connectionMatrix, connectionsBetween, cpuSeconds, cpuTimes, descendantPids, rssBytes, tcpConnections,
} from '../../../systems/process/os-stats.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(here, 'fixtures/http-child.mjs');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function spec(env: Record<string, string> = {}): ProcessSpec {
  return { command: process.execPath, args: [CHILD], env, readyPattern: /^fixture ready port=(\d+) pid=(\d+)$/, readyTimeoutMs: 15_000 };
}

const sup = new Supervisor();
afterEach(() => sup.stopAll({ timeoutMs: 2000 }));

describe('os-stats', () => {
  it('reads CLK_TCK from the OS', () => {
    expect(clockTicks()).toBe(100);
  });

  it('CPU seconds grow for a busy child; RSS is plausible', async () => {
    const { pid } = await sup.start('busy', spec({ FIXTURE_MODE: 'busy' }));
    const before = cpuTimes(pid);
    await sleep(1500);
    const after = cpuSeconds(pid);
    // A spinning process gets most of a core; leave room for a loaded machine.
    expect(after - before.cpuSeconds).toBeGreaterThan(0.25);
    expect(before.userSeconds + before.systemSeconds).toBeCloseTo(before.cpuSeconds, 6);
    const rss = rssBytes(pid);
    expect(rss).toBeGreaterThan(5 * 1024 * 1024);
    expect(rss).toBeLessThan(2 * 1024 * 1024 * 1024);
  });

  it('an idle child uses almost no CPU', async () => {
    const { pid } = await sup.start('idle', spec());
    await sleep(300);
    const before = cpuSeconds(pid);
    await sleep(1000);
    expect(cpuSeconds(pid) - before).toBeLessThan(0.3);
  });

  it('a process that does not exist is a clear error', () => {
    expect(() => cpuSeconds(2 ** 22 + 12345)).toThrow(/does not exist/);
    expect(() => rssBytes(-1)).toThrow(/not a process id/);
  });

  it('finds the children of a process', async () => {
    const { pid } = await sup.start('idle', spec());
    expect(descendantPids(process.pid)).toContain(pid);
  });

  it('tcpConnections sees this process\'s own loopback connection from both ends, with the right ports', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
    const client = net.connect({ host: '127.0.0.1', port });
    await new Promise((r) => client.once('connect', r));
    const serverSide = await accepted;
    try {
      const conns = tcpConnections(process.pid);
      expect(conns).toContainEqual(expect.objectContaining({ state: 'LISTEN', localPort: port }));
      expect(conns).toContainEqual(expect.objectContaining({
        state: 'ESTABLISHED', localAddress: '127.0.0.1', localPort: client.localPort, remoteAddress: '127.0.0.1', remotePort: port,
      }));
      expect(conns).toContainEqual(expect.objectContaining({ state: 'ESTABLISHED', localPort: port, remotePort: client.localPort }));
      // One connection, both ends in the same process: one self-pair.
      const m = connectionMatrix({ me: process.pid });
      expect(m.pairs.find((p) => p.client === 'me' && p.server === 'me')?.connections).toBeGreaterThanOrEqual(1);
    } finally {
      client.destroy();
      serverSide.destroy();
      server.close();
    }
  });

  it('decodes tcp6 rows: ::1, and IPv4-mapped addresses as plain IPv4', async () => {
    const server = net.createServer();
    const listened = await new Promise<boolean>((r) => { server.once('error', () => r(false)); server.listen(0, '::', () => r(true)); });
    if (!listened) return; // no IPv6 on this host
    const port = (server.address() as net.AddressInfo).port;
    const sockets: net.Socket[] = [];
    server.on('connection', (s) => sockets.push(s));
    const v4 = net.connect({ host: '127.0.0.1', port });
    const v6 = net.connect({ host: '::1', port });
    await Promise.all([v4, v6].map((s) => new Promise((r, j) => { s.once('connect', r); s.once('error', j); })));
    try {
      const conns = tcpConnections(process.pid).filter((c) => c.state === 'ESTABLISHED');
      expect(conns).toContainEqual(expect.objectContaining({ family: 6, localAddress: '::1', localPort: v6.localPort, remoteAddress: '::1', remotePort: port }));
      // The dual-stack server sees the IPv4 client as ::ffff:127.0.0.1; we report 127.0.0.1 so both ends match.
      expect(conns).toContainEqual(expect.objectContaining({ family: 6, localAddress: '127.0.0.1', localPort: port, remoteAddress: '127.0.0.1', remotePort: v4.localPort }));
      const m = connectionMatrix({ me: process.pid });
      expect(m.pairs).toContainEqual(expect.objectContaining({ client: 'me', server: 'me', directionKnown: true }));
    } finally {
      for (const s of [v4, v6, ...sockets]) s.destroy();
      server.close();
    }
  });

  it('connectionMatrix attributes a live connection between two processes to that pair, client to server', async () => {
    const a = await sup.start('a', spec());
    const b = await sup.start('b', spec());
    const c = await sup.start('c', spec());
    const portB = Number(b.readyMatch[1]);
    // a opens two connections to b's HTTP port and holds them; c stays unconnected.
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`http://127.0.0.1:${a.readyMatch[1]}/connect?port=${portB}`, { headers: { connection: 'close' } });
      expect(res.status).toBe(200);
      await res.text();
    }
    const aConns = tcpConnections(a.pid).filter((x) => x.state === 'ESTABLISHED' && x.remotePort === portB);
    expect(aConns).toHaveLength(2);
    const bConns = tcpConnections(b.pid).filter((x) => x.state === 'ESTABLISHED' && x.localPort === portB);
    expect(bConns.map((x) => x.remotePort).sort()).toEqual(aConns.map((x) => x.localPort).sort());

    const m = connectionMatrix(new Map([['a', a.pid], ['b', b.pid], ['c', c.pid]]));
    expect(m.pairs).toEqual([{ client: 'a', server: 'b', directionKnown: true, connections: 2 }]);
    expect(connectionsBetween(m, 'b', 'a')).toBe(2);
    expect(connectionsBetween(m, 'a', 'c')).toBe(0);
    expect(m.perProcess.a).toMatchObject({ toKnownProcess: 2 });
    expect(m.perProcess.b).toMatchObject({ toKnownProcess: 2 });
    expect(m.perProcess.c).toMatchObject({ established: 0 });
    expect(m.unreadable).toEqual([]);

    // Kill b: the connections are gone from the OS, and b is reported unreadable.
    await sup.kill('b');
    const after = connectionMatrix({ a: a.pid, b: b.pid });
    expect(after.pairs).toEqual([]);
    expect(after.unreadable).toEqual(['b']);
  });
});
