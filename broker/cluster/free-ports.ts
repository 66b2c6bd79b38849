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
//
// Other processes choose ports the same way (test runs side by side, two landscapes): a port one
// process handed out, whose owner is down for a restart, must not be chosen by another. So each
// port handed out is also reserved machine-wide by a lock file in the temp folder holding the
// owner's pid, created exclusively; another process skips a port whose lock names a live process,
// and takes over a lock whose process is gone. Locks are removed when the process exits.
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Lowest port chosen: well above the registered services most machines run (RabbitMQ 5672/15672/25672 sit below or are checked by binding). */
const LOWEST = 20_000;
/** Linux's default ephemeral range starts here; other systems keep theirs higher still. */
const DEFAULT_EPHEMERAL_LOW = 32_768;
const MAX_TRIES_PER_PORT = 200;

const handedOut = new Set<number>();
const LOCK_DIR = join(tmpdir(), 'untangle-ports');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, as another user's process.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let cleanupInstalled = false;
function releaseAllOnExit(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.once('exit', () => {
    for (const port of handedOut) {
      try {
        if (Number(readFileSync(lockFile(port), 'utf8')) === process.pid) unlinkSync(lockFile(port));
      } catch {
        // already gone
      }
    }
  });
}

const lockFile = (port: number): string => join(LOCK_DIR, `${port}.lock`);

/**
 * Reserves `port` for this process machine-wide; false when a live process holds it. Without a
 * usable temp folder nothing is reserved (true): the bind check alone, as before.
 */
function reserve(port: number): boolean {
  try {
    mkdirSync(LOCK_DIR, { recursive: true, mode: 0o1777 });
  } catch {
    return true;
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockFile(port), 'wx', 0o644);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      releaseAllOnExit();
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return true;
      let owner = Number.NaN;
      try {
        owner = Number(readFileSync(lockFile(port), 'utf8'));
      } catch {
        // removed meanwhile: try again
      }
      if (owner === process.pid) return true;
      // A lock being written (empty for a moment) or held by a live process is respected.
      if (!Number.isInteger(owner) || owner <= 0 || alive(owner)) return false;
      try {
        unlinkSync(lockFile(port));
      } catch {
        // another process took it over first
      }
    }
  }
  return false;
}

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
          if (handedOut.has(port)) continue;
          server = await bind(port, host);
          if (server && !reserve(port)) {
            await close(server);
            server = null;
          }
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
