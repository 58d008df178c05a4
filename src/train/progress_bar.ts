/**
 * A progress bar callback (Node-only): a live bar with step, loss, throughput and ETA on a
 * terminal; one plain line per epoch when output is not a TTY (logs, CI).
 */
import cliProgress from 'cli-progress';
import type { Callback, Logs, TrainerState } from './callbacks.js';

export interface ProgressBarOptions {
  /** Where to write; defaults to process.stderr. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Force plain lines even on a terminal. */
  plain?: boolean;
}

/** `valAccuracy` → `val accuracy`; the fit loop's own quantities (loss, metrics) are the training set's. */
function label(key: string): string {
  const val = /^val[A-Z]/.test(key);
  const name = val ? key[3].toLowerCase() + key.slice(4) : key;
  return `${val ? 'val' : 'train'} ${name}`;
}

function formatLogs(logs: Logs): string {
  return Object.entries(logs)
    .map(([k, v]) => `${label(k)} ${/acc/i.test(k) ? `${(v * 100).toFixed(2)}%` : v.toFixed(4)}`)
    .join('  ');
}

export class ProgressBar implements Callback {
  private bar: cliProgress.SingleBar | null = null;
  private epochStart = 0;
  private examples = 0;
  private readonly stream: NodeJS.WritableStream & { isTTY?: boolean };
  private readonly live: boolean;
  private epochs = 0;

  constructor(
    epochs: number,
    readonly options: ProgressBarOptions = {},
  ) {
    this.epochs = epochs;
    this.stream = options.stream ?? process.stderr;
    this.live = !options.plain && Boolean(this.stream.isTTY);
  }

  onEpochBegin(epoch: number, state: TrainerState): void {
    this.epochStart = performance.now();
    this.examples = 0;
    if (!this.live) return;
    this.bar = new cliProgress.SingleBar(
      {
        format: `epoch ${epoch + 1}/${this.epochs} [{bar}] {value}/{total} | loss {loss} | {speed} ex/s | ETA {eta_formatted}`,
        stream: this.stream as NodeJS.WriteStream,
        hideCursor: true,
        clearOnComplete: true,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(Number.isFinite(state.stepsPerEpoch) ? state.stepsPerEpoch : 0, 0, {
      loss: '-',
      speed: '-',
    });
  }

  onBatchEnd(step: number, logs: { loss: number; batchSize: number }): void {
    this.examples += logs.batchSize;
    const seconds = (performance.now() - this.epochStart) / 1000;
    this.bar?.update(step + 1, {
      loss: logs.loss.toFixed(4),
      speed: (this.examples / Math.max(seconds, 1e-9)).toFixed(0),
    });
  }

  onEpochEnd(epoch: number, logs: Logs): void {
    this.bar?.stop();
    this.bar = null;
    const seconds = (performance.now() - this.epochStart) / 1000;
    this.stream.write(
      `epoch ${epoch + 1}/${this.epochs}  ${formatLogs(logs)}  (${seconds.toFixed(1)} s, ${(this.examples / seconds).toFixed(0)} ex/s)\n`,
    );
  }
}
