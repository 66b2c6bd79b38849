/**
 * The run's progress: on a terminal a live bar (cli-progress) with the current step, the elapsed
 * time and the estimate of what is left; under CI or when output is piped, plain timestamped lines
 * (no cursor tricks, so logs stay readable). Notes go to a run log in both cases.
 */
import { appendFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import type { Progress } from './runners/context.ts';

export interface RunProgress extends Progress {
  /** The whole run's estimate, in seconds, so the bar can show what is left. */
  setTotalEstimate(seconds: number): void;
  done(): void;
}

function clock(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

interface StepState { label: string; estimateS: number; startedAtMs: number }

export function createProgress(opts: { interactive: boolean; logFile?: string; write?: (line: string) => void }): RunProgress {
  const write = opts.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const startedAtMs = Date.now();
  let totalS = 0;
  let doneS = 0;
  let current: StepState | null = null;
  const log = (line: string): void => {
    if (opts.logFile) appendFileSync(opts.logFile, `${new Date().toISOString()} ${line}\n`);
  };
  const finishStep = (): void => {
    if (current) doneS += current.estimateS;
    current = null;
  };

  if (!opts.interactive) {
    return {
      setTotalEstimate(seconds) { totalS = seconds; write(`[${clock(0)}] estimated ${clock(seconds * 1000)}`); },
      step(label, estimateS) {
        finishStep();
        current = { label, estimateS, startedAtMs: Date.now() };
        const left = Math.max(0, totalS - doneS);
        write(`[${clock(Date.now() - startedAtMs)}] ${label} (about ${Math.round(estimateS)} s; about ${clock(left * 1000)} left)`);
        log(`step ${label}`);
      },
      note(line) { write(`[${clock(Date.now() - startedAtMs)}]   ${line}`); log(line); },
      done() { finishStep(); write(`[${clock(Date.now() - startedAtMs)}] done`); },
    };
  }

  const bar = new cliProgress.SingleBar({
    format: '{bar} {percentage}% | {elapsed} elapsed, about {left} left | {step}',
    hideCursor: true,
    clearOnComplete: false,
    barsize: 24,
    etaBuffer: 1,
  }, cliProgress.Presets.shades_classic);
  let started = false;
  const values = (): { value: number; payload: Record<string, string> } => {
    const inStep = current ? Math.min(current.estimateS, (Date.now() - current.startedAtMs) / 1000) : 0;
    const value = Math.min(totalS, doneS + inStep);
    return {
      value,
      payload: { step: current?.label ?? '', elapsed: clock(Date.now() - startedAtMs), left: clock((totalS - value) * 1000) },
    };
  };
  const timer = setInterval(() => {
    if (!started) return;
    const v = values();
    bar.update(v.value, v.payload);
  }, 500);
  timer.unref();
  return {
    setTotalEstimate(seconds) {
      totalS = Math.max(1, seconds);
      const v = values();
      bar.start(totalS, v.value, v.payload);
      started = true;
    },
    step(label, estimateS) {
      finishStep();
      current = { label, estimateS, startedAtMs: Date.now() };
      log(`step ${label}`);
      if (started) bar.update(values().value, values().payload);
    },
    note(line) {
      log(line);
      // Print above the bar: cli-progress redraws on the next update.
      if (started) bar.stop();
      write(`  ${line}`);
      if (started) {
        const v = values();
        bar.start(totalS, v.value, v.payload);
      }
    },
    done() {
      finishStep();
      clearInterval(timer);
      if (started) {
        bar.update(totalS, { ...values().payload, step: 'done' });
        bar.stop();
      }
    },
  };
}
