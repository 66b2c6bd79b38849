import { readFileSync } from 'node:fs';
import net from 'node:net';
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
