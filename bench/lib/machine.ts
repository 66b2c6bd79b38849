// What the benchmark ran on.
import os from 'node:os';
import { readFileSync } from 'node:fs';

export interface MachineInfo {
  cpuModel: string; cores: number; memoryBytes: number; os: string; kernel: string; node: string;
  loadAverage1m: number; hostname: string; date: string;
}

export function machineInfo(): MachineInfo {
  let osName = `${os.type()} ${os.release()}`;
  try {
    const m = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m) osName = m[1];
  } catch { /* not Linux */ }
  return {
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism?.() ?? os.cpus().length,
    memoryBytes: os.totalmem(),
    os: osName,
    kernel: os.release(),
    node: process.version,
    loadAverage1m: os.loadavg()[0],
    hostname: os.hostname(),
    date: new Date().toISOString(),
  };
}
