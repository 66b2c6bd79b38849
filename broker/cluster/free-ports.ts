// Ports chosen up front, so peers can be told each other's addresses before they start and a
// process restarted after kill -9 comes back at the same address.
//
// Why not just bind port 0 and close again: the OS hands out port-0 listeners and the source ports
// of outgoing connections from the same ephemeral range. Between choosing a port and a child
// process binding it (or, worse, between a kill -9 and the restart), any client in the machine can
// take it as the source port of a connection, and the listener fails with EADDRINUSE. That happened
// in CI. So ports here come from below the ephemeral range, where outgoing connections never land;
// each is checked by binding it, and this process never hands out the same port twice. On a system
// whose ephemeral range leaves no room below it, the OS's own pick is used, as before.
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';

/** Lowest port chosen: well above the registered services most machines run (RabbitMQ 5672/15672/25672 sit below or are checked by binding). */
const LOWEST = 20_000;
/** Linux's default ephemeral range starts here; other systems keep theirs higher still. */
const DEFAULT_EPHEMERAL_LOW = 32_768;
const MAX_TRIES_PER_PORT = 200;

const handedOut = new Set<number>();

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : DEFAULT_EPHEMERAL_LOW;
  } catch {
    return DEFAULT_EPHEMERAL_LOW;
  }
}

function bind(port: number, host: string): Promise<Server | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null));
    server.listen({ port, host, exclusive: true }, () => resolve(server));
  });
}

const close = (s: Server): Promise<void> => new Promise((resolve) => s.close(() => resolve()));

/** `count` distinct ports that nothing listens on now and outgoing connections will not take. */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const high = ephemeralLow();
  const held: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      let server: Server | null = null;
      if (high - LOWEST >= 1_000) {
        for (let t = 0; t < MAX_TRIES_PER_PORT && !server; t++) {
          const port = LOWEST + Math.floor(Math.random() * (high - LOWEST));
          if (!handedOut.has(port)) server = await bind(port, host);
        }
      }
      // No room below the ephemeral range (or every try was taken): the OS's pick.
      server ??= await bind(0, host);
      if (!server) throw new Error(`no free TCP port on ${host}`);
      held.push(server);
    }
    const ports = held.map((s) => (s.address() as AddressInfo).port);
    for (const p of ports) handedOut.add(p);
    return ports;
  } finally {
    await Promise.all(held.map(close));
  }
}

/** One port, as freePorts(1). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return (await freePorts(1, host))[0];
}
