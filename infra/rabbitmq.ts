// Find or start the RabbitMQ the legacy layout needs, in this order:
//   1. AMQP_URL, when set (it must answer: a wrong AMQP_URL is an error, not a reason to look elsewhere)
//   2. amqp://guest:guest@127.0.0.1:5672, when something answers there
//   3. a rabbitmq:3-management container through testcontainers, when a Docker engine is reachable
// and otherwise an error that names all three ways.
import amqp from 'amqplib';
import { requireContainerRuntime, type Env, type Log } from './docker.ts';

export const LOCAL_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
export const DEFAULT_RABBITMQ_IMAGE = 'rabbitmq:3-management';

export interface ResolvedRabbitMq {
  url: string;
  source: 'env' | 'localhost' | 'container';
  /** Stops the container if one was started; a no-op otherwise. */
  stop(): Promise<void>;
}

export interface ResolveRabbitMqOptions {
  /** Environment to read AMQP_URL from (default process.env). */
  env?: Env;
  /** Start a container when nothing else answers (default true). */
  allowContainers?: boolean;
  log?: Log;
  /** The local address tried second (default amqp://guest:guest@127.0.0.1:5672). */
  localUrl?: string;
  /** Per connection attempt (default 3000 ms). */
  connectTimeoutMs?: number;
  image?: string;
}

/** The URL with its password replaced, for messages and logs. */
export function redactAmqpUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');
  }
}

/** Opens and closes one AMQP connection; throws a message naming the (redacted) URL if it cannot. */
export async function checkAmqp(url: string, timeoutMs = 3000): Promise<void> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`not a valid AMQP URL: "${redactAmqpUrl(url)}"`);
  }
  if (parsed.protocol !== 'amqp:' && parsed.protocol !== 'amqps:') {
    throw new Error(`not an AMQP URL (expected amqp:// or amqps://): "${redactAmqpUrl(url)}"`);
  }
  let timer: NodeJS.Timeout | undefined;
  const attempt = amqp.connect(url, { timeout: timeoutMs });
  try {
    const conn = await Promise.race([
      attempt,
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no AMQP handshake within ${timeoutMs} ms`)), timeoutMs); }),
    ]);
    await conn.close();
  } catch (err) {
    attempt.then((late) => late.close(), () => undefined).catch(() => undefined);
    throw new Error(`RabbitMQ at ${redactAmqpUrl(url)} does not answer: ${describe(err)}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { errors?: Error[] };
  if (e.errors?.length) return e.errors.map((x) => x.message).join('; ');
  return e.message || e.code || String(err);
}

function noRabbitMessage(tried: string[]): string {
  return [
    'No RabbitMQ found. Tried:',
    ...tried.map((t) => `  - ${t}`),
    'Fix it one of three ways:',
    '  1. set AMQP_URL=amqp://USER:PASS@HOST:5672 to a running RabbitMQ;',
    '  2. run RabbitMQ on 127.0.0.1:5672 with user guest/guest, e.g. `rabbitmq-server -detached` (or `sudo systemctl start rabbitmq-server`);',
    `  3. make a Docker engine reachable (start Docker, or set DOCKER_HOST) so untangle can start ${DEFAULT_RABBITMQ_IMAGE} through testcontainers.`,
  ].join('\n');
}

export async function resolveRabbitMq(opts: ResolveRabbitMqOptions = {}): Promise<ResolvedRabbitMq> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => undefined);
  const timeoutMs = opts.connectTimeoutMs ?? 3000;
  const noop = async (): Promise<void> => undefined;

  const fromEnv = env.AMQP_URL?.trim();
  if (fromEnv) {
    try {
      await checkAmqp(fromEnv, timeoutMs);
    } catch (err) {
      throw new Error(`AMQP_URL=${redactAmqpUrl(fromEnv)} is set but unusable: ${(err as Error).message}`, { cause: err });
    }
    log(`rabbitmq: using AMQP_URL ${redactAmqpUrl(fromEnv)}`);
    return { url: fromEnv, source: 'env', stop: noop };
  }

  const tried = ['AMQP_URL: not set'];
  const localUrl = opts.localUrl ?? LOCAL_AMQP_URL;
  try {
    await checkAmqp(localUrl, timeoutMs);
    log(`rabbitmq: using ${redactAmqpUrl(localUrl)}`);
    return { url: localUrl, source: 'localhost', stop: noop };
  } catch (err) {
    tried.push(`${redactAmqpUrl(localUrl)}: ${(err as Error).message}`);
  }

  if (opts.allowContainers === false) {
    tried.push('a container: not allowed here (allowContainers: false)');
    throw new Error(noRabbitMessage(tried));
  }
  try {
    return await startRabbitContainer(opts.image ?? DEFAULT_RABBITMQ_IMAGE, env, log);
  } catch (err) {
    tried.push(`a ${opts.image ?? DEFAULT_RABBITMQ_IMAGE} container: ${(err as Error).message}`);
    throw new Error(noRabbitMessage(tried), { cause: err });
  }
}

async function startRabbitContainer(image: string, env: Env, log: Log): Promise<ResolvedRabbitMq> {
  await requireContainerRuntime('cannot start a container', { env, log });
  const { RabbitMQContainer } = await import('@testcontainers/rabbitmq');
  log(`rabbitmq: starting ${image} through testcontainers (first run pulls the image)`);
  const container = await new RabbitMQContainer(image).withStartupTimeout(120_000).start();
  const url = `amqp://guest:guest@${container.getHost()}:${container.getMappedPort(5672)}`;
  try {
    await retryUntil(() => checkAmqp(url, 3000), 30_000);
  } catch (err) {
    await container.stop().catch(() => undefined);
    throw err;
  }
  log(`rabbitmq: container ${container.getId().slice(0, 12)} answers at ${redactAmqpUrl(url)}`);
  let stopped = false;
  return {
    url,
    source: 'container',
    async stop() {
      if (stopped) return;
      stopped = true;
      await container.stop();
    },
  };
}

async function retryUntil(fn: () => Promise<void>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
