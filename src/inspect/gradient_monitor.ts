/**
 * `inspect.GradientMonitor`: a `fit` callback that makes a gradient report every k steps, warns
 * once per problem and keeps the history for plotting. Browser-safe: where the history goes is
 * the `save` option (chainrule/node's GradientMonitor takes a `path` and writes it atomically).
 */
import type { Callback, Logs, TrainerState } from '../train/callbacks.js';
import { Module } from '../nn/module.js';
import { ActivationRecorder } from './activation_recorder.js';
import { gradientReport } from './gradient_report.js';
import { HISTORY_FORMAT, type GradientHistory, type HistoryProblem } from './gradient_history.js';
import type { Problem } from './problems.js';
import { resolveThresholds, type ReportThresholds } from './thresholds.js';

export interface GradientMonitorOptions {
  /** Record every this many steps (batches), starting with the first. Default 10. */
  every?: number;
  /** The learning rate for the update-to-weight ratios... */
  lr?: number;
  /** ... or the optimizer to read it from (its first group's lr, live under a schedule). */
  optimizer?: { paramGroups: readonly { lr: number }[] };
  /** Record activation mean / std and dead ReLUs through forward hooks (default true). */
  activations?: boolean;
  thresholds?: Partial<ReportThresholds>;
  /**
   * Called with each problem the first time it is seen (a problem is a kind in a layer);
   * default: console.warn of its message. null: silent (the history still lists them).
   */
  warn?: ((problem: Problem, step: number) => void) | null;
  /**
   * Called with the history's JSON at the end of every epoch and of training (not after every
   * record: a file write with fsync per record cost more than the records themselves).
   */
  save?: (json: string) => void | Promise<void>;
}

/**
 * Records `inspect.gradientReport` every `every` steps of `fit`, warns once per problem, and
 * keeps the history (records, epoch logs, problems) that `chainrule plot` draws. It runs after
 * the optimizer's step, so the gradients are the step's and the weights already updated.
 * @example
 * const monitor = new inspect.GradientMonitor(model, { every: 20, optimizer }); // chainrule/node: add path: 'history.json'
 * await train.fit(model, loader, { optimizer, loss, epochs: 5, callbacks: [monitor] });
 * monitor.history.problems; // each problem once, with the step it was first seen
 */
export class GradientMonitor implements Callback {
  readonly every: number;
  readonly history: GradientHistory;
  private readonly thresholds: ReportThresholds;
  private readonly warned = new Set<string>();
  private recorder: ActivationRecorder | null = null;
  private step = 0;

  constructor(
    readonly model: Module,
    readonly options: GradientMonitorOptions = {},
  ) {
    if (!(model instanceof Module))
      throw new TypeError(
        `GradientMonitor: expected an nn.Module, got ${model === null ? 'null' : typeof model}`,
      );
    const every = options.every ?? 10;
    if (!Number.isInteger(every) || every < 1)
      throw new RangeError(
        `GradientMonitor: every must be a positive integer, got ${String(every)}`,
      );
    if (options.lr !== undefined && !(options.lr >= 0))
      throw new RangeError(`GradientMonitor: lr must be a number >= 0, got ${String(options.lr)}`);
    this.every = every;
    this.thresholds = resolveThresholds('GradientMonitor', options.thresholds);
    this.history = {
      format: HISTORY_FORMAT,
      version: 1,
      every,
      thresholds: this.thresholds,
      records: [],
      epochs: [],
      problems: [],
    };
  }

  private get lr(): number | undefined {
    return this.options.lr ?? this.options.optimizer?.paramGroups[0]?.lr;
  }

  /** The history as JSON (what `save` receives). */
  toJSON(): string {
    return JSON.stringify(this.history);
  }

  private async save(): Promise<void> {
    await this.options.save?.(this.toJSON());
  }

  onTrainBegin(): void {
    if (this.options.activations !== false && !this.recorder)
      this.recorder = new ActivationRecorder(this.model);
    if (this.recorder) this.recorder.active = this.step % this.every === 0;
  }

  async onBatchEnd(
    _step: number,
    logs: { loss: number; batchSize: number },
    state: TrainerState,
  ): Promise<void> {
    const step = this.step++;
    if (step % this.every === 0) await this.record(step, logs.loss, state.epoch);
    if (this.recorder) {
      this.recorder.clear();
      this.recorder.active = this.step % this.every === 0;
    }
  }

  private async record(step: number, loss: number, epoch: number): Promise<void> {
    const lr = this.lr;
    const report = await gradientReport(this.model, {
      lr,
      activations: this.recorder ?? undefined,
      thresholds: this.thresholds,
    });
    const layers: GradientHistory['records'][number]['layers'] = {};
    for (const l of report.layers)
      layers[l.name] = {
        gradNorm: l.gradNorm,
        weightNorm: l.weightNorm,
        updateRatio: l.updateRatio,
        activationMean: l.activation?.mean ?? null,
        activationStd: l.activation?.std ?? null,
        deadFraction: l.activation?.deadFraction ?? null,
      };
    this.history.records.push({ step, epoch, loss, lr: lr ?? null, layers });
    for (const problem of report.problems) {
      const key = `${problem.kind}\u0000${problem.layer}`;
      if (this.warned.has(key)) continue;
      this.warned.add(key);
      const seen: HistoryProblem = {
        step,
        epoch,
        layer: problem.layer,
        kind: problem.kind,
        message: problem.message,
      };
      this.history.problems.push(seen);
      if (this.options.warn === undefined)
        console.warn(`GradientMonitor (step ${step}): ${problem.message}`);
      else this.options.warn?.(problem, step);
    }
  }

  async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    this.history.epochs.push({ epoch, ...logs });
    await this.save();
  }

  async onTrainEnd(): Promise<void> {
    this.recorder?.remove();
    this.recorder = null;
    await this.save();
  }
}
