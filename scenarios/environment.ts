/**
 * Where and with what a run was measured: the machine (CPU model, cores, memory, OS) and the
 * versions of everything that carried the traffic. Every report states these.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import amqp from 'amqplib';
import type { Machine, Versions } from '../report/model.ts';

const require = createRequire(import.meta.url);

export function machineInfo(): Machine {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryBytes: os.totalmem(),
    os: `${distribution()}, ${os.type()} ${os.release()}`,
    arch: os.arch(),
  };
}

function distribution(): string {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text);
    if (m) return m[1];
  } catch {
    // not Linux, or no os-release: the platform name below is all there is
  }
  return os.platform();
}

/** The installed version of a dependency (from its package.json, found above its entry point), or 'unknown'. */
export function packageVersion(name: string): string {
  try {
    let dir = path.dirname(require.resolve(name));
    for (let i = 0; i < 6; i++, dir = path.dirname(dir)) {
      try {
        const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
        if (pkg.name === name && pkg.version) return pkg.version;
      } catch {
        // no package.json at this level: keep walking up
      }
    }
  } catch {
    // not installed
  }
  return 'unknown';
}

export function ownVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** The version the RabbitMQ server announces on connect. */
export async function rabbitMqVersion(url: string): Promise<string> {
  const conn = await amqp.connect(url, { timeout: 5000 });
  try {
    const props = (conn.connection as unknown as { serverProperties?: Record<string, unknown> }).serverProperties ?? {};
    return `${String(props.product ?? 'RabbitMQ')} ${String(props.version ?? 'unknown')}`;
  } finally {
    await conn.close();
  }
}

export function versionsInfo(opts: { rabbitmq: string | null; hub: string }): Versions {
  return {
    untangle: ownVersion(),
    node: process.version,
    kafkajs: packageVersion('kafkajs'),
    amqplib: packageVersion('amqplib'),
    rabbitmq: opts.rabbitmq,
    hub: opts.hub,
  };
}
