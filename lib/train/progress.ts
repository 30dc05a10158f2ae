/**
 * What `fit` prints. On a terminal (`verbose: 1` and `isTTY`): one line per epoch redrawn in
 * place, at most ten times a second, with the step, images/s, ETA, running loss and accuracy.
 * Otherwise (`verbose: 2`, or output that is not a terminal: a log file, CI): one plain line
 * per epoch, so logs never fill with progress frames. `verbose: 0` prints nothing.
 */
import type { EpochLogs } from './callbacks';

/** Where progress goes: `process.stdout` by default; anything with `write` (and `isTTY`) will do. */
export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const REDRAW_MS = 100;

function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}` : `${m}:${String(r).padStart(2, '0')}`;
}

function rate(imagesPerSecond: number): string {
  return imagesPerSecond >= 1000 ? `${(imagesPerSecond / 1000).toFixed(1)}k img/s` : `${imagesPerSecond.toFixed(0)} img/s`;
}

/** Formats an epoch's logs: `loss 0.1234 - accuracy 0.9612 - valLoss … - lr 1.0e-3`. */
export function formatLogs(logs: EpochLogs): string {
  const first = ['loss', 'accuracy', 'valLoss', 'valAccuracy'];
  const keys = [...first, ...Object.keys(logs).filter((k) => !first.includes(k) && k !== 'lr' && k !== 'seconds'), 'lr'];
  const parts: string[] = [];
  for (const k of keys) {
    const v = logs[k];
    if (typeof v === 'number') parts.push(`${k} ${k === 'lr' ? v.toExponential(2) : v.toFixed(4)}`);
  }
  return parts.join(' - ');
}

export class Progress {
  readonly #out: ProgressOutput | null;
  readonly #tty: boolean;
  readonly #epochs: number;
  readonly #steps: number;
  #epoch = 0;
  #start = 0;
  #lastDraw = 0;

  constructor(verbose: 0 | 1 | 2, out: ProgressOutput, epochs: number, steps: number) {
    this.#out = verbose === 0 ? null : out;
    this.#tty = verbose === 1 && out.isTTY === true;
    this.#epochs = epochs;
    this.#steps = steps;
  }

  epochBegin(epoch: number): void {
    this.#epoch = epoch;
    this.#start = performance.now();
    this.#lastDraw = 0;
  }

  /** After each batch: redraws the bar on a terminal (throttled), nothing otherwise. */
  batchEnd(step: number, images: number, loss: number, accuracy: number | undefined): void {
    if (!this.#tty || this.#out === null) return;
    const now = performance.now();
    if (now - this.#lastDraw < REDRAW_MS && step < this.#steps) return;
    this.#lastDraw = now;
    const seconds = (now - this.#start) / 1000;
    const eta = (seconds / step) * (this.#steps - step);
    const width = 20, done = Math.min(width, Math.floor((width * step) / this.#steps));
    const bar = `[${'='.repeat(done)}${done < width ? '>' : ''}${'.'.repeat(Math.max(0, width - done - 1))}]`;
    const acc = accuracy === undefined ? '' : ` - accuracy ${accuracy.toFixed(4)}`;
    const line = `Epoch ${this.#epoch + 1}/${this.#epochs} ${String(step).padStart(String(this.#steps).length)}/${this.#steps} ${bar} ` +
      `${rate(images / seconds)} - ETA ${clock(eta)} - loss ${loss.toFixed(4)}${acc}`;
    const cols = this.#out.columns ?? 0;
    this.#out.write(`\r\x1b[2K${cols > 10 && line.length >= cols ? line.slice(0, cols - 1) : line}`);
  }

  /** The epoch's summary: ends the bar's line on a terminal, one plain line otherwise. */
  epochEnd(images: number, logs: EpochLogs): void {
    if (this.#out === null) return;
    const seconds = logs.seconds;
    const head = `Epoch ${this.#epoch + 1}/${this.#epochs} - ${this.#steps} steps - ${seconds.toFixed(1)}s - ${rate(images / seconds)}`;
    this.#out.write(`${this.#tty ? '\r\x1b[2K' : ''}${head} - ${formatLogs(logs)}\n`);
  }
}
