import { readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { freePort, freePorts } from '../../broker/cluster/free-ports.ts';

const ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);

function listen(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

describe('freePorts', () => {
  it('chooses distinct ports below the ephemeral range, where outgoing connections never take them', async () => {
    const ports = [...(await freePorts(20)), ...(await freePorts(20)), await freePort()];
    expect(new Set(ports).size).toBe(ports.length);
    for (const p of ports) {
      expect(p).toBeGreaterThanOrEqual(20_000);
      expect(p).toBeLessThan(ephemeralLow);
    }
  });

  it('returns ports that can be bound, and never one that is listened on', async () => {
    const ports = await freePorts(5);
    const servers = await Promise.all(ports.map(listen));
    try {
      const more = await freePorts(50);
      for (const p of more) expect(ports).not.toContain(p);
    } finally {
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    }
  });

  it('keeps a port free from the source ports of many outgoing connections made after it was chosen', async () => {
    const [chosen] = await freePorts(1);
    const target = await listen(0);
    const { port } = target.address() as net.AddressInfo;
    const sockets = await Promise.all(Array.from({ length: 200 }, () => new Promise<net.Socket>((resolve, reject) => {
      const c = net.connect(port, '127.0.0.1', () => resolve(c));
      c.once('error', reject);
    })));
    try {
      for (const c of sockets) expect(c.localPort).not.toBe(chosen);
      const server = await listen(chosen);
      await new Promise((r) => server.close(r));
    } finally {
      for (const c of sockets) c.destroy();
      await new Promise((r) => target.close(r));
    }
  });
});

describe('freePorts across processes', () => {
  it('never hands out a port another live process holds, also while nothing listens on it (down for a restart)', async () => {
    const { spawn } = await import('node:child_process');
    // A child chooses 300 ports (the range holds about 12,000), prints them, and stays alive.
    const script = "import { freePorts } from './broker/cluster/free-ports.ts'; const p = await freePorts(300); console.log(JSON.stringify(p)); setInterval(() => {}, 1000);";
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const theirs: number[] = await new Promise((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (b: Buffer) => {
          out += b.toString();
          if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]) as number[]);
        });
        child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
      });
      expect(theirs).toHaveLength(300);
      // Nothing listens on them now (the child closed its probes), yet none is handed out here.
      const mine = await freePorts(600);
      const taken = new Set(theirs);
      expect(mine.filter((p) => taken.has(p))).toEqual([]);
      for (const p of theirs) expect(readFileSync(`${tmpdir()}/untangle-ports/${p}.lock`, 'utf8')).toBe(String(child.pid));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);
});
