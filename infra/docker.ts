// Is a container runtime reachable, and can testcontainers drive it? testcontainers is loaded lazily:
// nothing else in infra/ needs it. It is pinned to 11.x because 12.x only loads on Node >= 22.22
// and untangle runs on Node 20; if loading still fails, the container paths say why instead of
// taking the whole module down.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

export type Env = Record<string, string | undefined>;
export type Log = (line: string) => void;
type Testcontainers = typeof import('testcontainers');

export type ContainerRuntimeCheck =
  | { reachable: true; description: string }
  | { reachable: false; reason: string };

/** Places a Docker-compatible socket usually lives (what testcontainers' own strategies look at). */
export function candidateSockets(env: Env = process.env): string[] {
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  const home = env.HOME ?? homedir();
  const list = [
    '/var/run/docker.sock',
    '/run/docker.sock',
    path.join(home, '.docker/run/docker.sock'),
    path.join(home, '.docker/desktop/docker.sock'),
  ];
  if (env.XDG_RUNTIME_DIR) list.push(path.join(env.XDG_RUNTIME_DIR, 'docker.sock'), path.join(env.XDG_RUNTIME_DIR, 'podman/podman.sock'));
  if (uid !== undefined) list.push(`/run/user/${uid}/docker.sock`, `/run/user/${uid}/podman/podman.sock`);
  return [...new Set(list)];
}

let loaded: Promise<Testcontainers> | null = null;

/** Imports testcontainers, turning a load failure into an error that says why. */
export async function loadTestcontainers(): Promise<Testcontainers> {
  loaded ??= import('testcontainers').catch((err: Error) => {
    loaded = null;
    throw new Error(`testcontainers could not be loaded on Node ${process.version}: ${err.message}`);
  });
  return loaded;
}

/**
 * Fast local pre-check (DOCKER_HOST, TESTCONTAINERS_* settings, ~/.testcontainers.properties, a
 * socket file), then testcontainers' own runtime detection, which actually talks to the engine.
 */
export async function detectContainerRuntime(opts: { env?: Env; timeoutMs?: number } = {}): Promise<ContainerRuntimeCheck> {
  const env = opts.env ?? process.env;
  const sockets = candidateSockets(env);
  const configured = Boolean(env.DOCKER_HOST) || Boolean(env.TESTCONTAINERS_DOCKER_SOCKET_OVERRIDE)
    || existsSync(path.join(env.HOME ?? homedir(), '.testcontainers.properties'));
  const found = sockets.filter((s) => existsSync(s));
  if (!configured && found.length === 0) {
    return { reachable: false, reason: `no Docker engine found: DOCKER_HOST is not set and there is no socket at ${sockets.join(', ')}` };
  }
  let tc: Testcontainers;
  try {
    tc = await loadTestcontainers();
  } catch (err) {
    return { reachable: false, reason: (err as Error).message };
  }
  const timeoutMs = opts.timeoutMs ?? 20_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    const client = await Promise.race([
      tc.getContainerRuntimeClient(),
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs); }),
    ]);
    const info = client.info.containerRuntime;
    return { reachable: true, description: `${info.operatingSystem} (engine API ${info.serverVersion}) via ${env.DOCKER_HOST ? `DOCKER_HOST=${env.DOCKER_HOST}` : found[0] ?? 'testcontainers config'}` };
  } catch (err) {
    const where = env.DOCKER_HOST ? `DOCKER_HOST=${env.DOCKER_HOST}` : found.join(', ') || 'testcontainers configuration';
    return { reachable: false, reason: `no Docker engine answered at ${where}: ${(err as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
}

/** Loads testcontainers after making sure an engine is reachable; throws `what: reason` otherwise. */
export async function requireContainerRuntime(what: string, opts: { env?: Env; log?: Log } = {}): Promise<Testcontainers> {
  const check = await detectContainerRuntime({ env: opts.env });
  if (!check.reachable) throw new Error(`${what}: ${check.reason}`);
  opts.log?.(`container runtime: ${check.description}`);
  return loadTestcontainers();
}
