/** chainrule/node's GradientMonitor: the browser-safe one plus a `path` it writes atomically. */
import { writeFileAtomic } from '../train/write_file_atomic.js';
import type { Module } from '../nn/module.js';
import {
  GradientMonitor as MonitorCore,
  type GradientMonitorOptions as CoreOptions,
} from './gradient_monitor.js';

export interface GradientMonitorOptions extends CoreOptions {
  /** Write the history JSON here (atomically: temp file, fsync, rename) at the end of every epoch and of training. */
  path?: string;
}

/**
 * A GradientMonitor that writes its history to `path`, for `chainrule plot`.
 * @example
 * import { inspect } from 'chainrule/node';
 * const monitor = new inspect.GradientMonitor(model, { every: 10, optimizer, path: 'history.json' });
 */
export class GradientMonitor extends MonitorCore {
  constructor(model: Module, options: GradientMonitorOptions = {}) {
    const { path, ...rest } = options;
    if (path !== undefined && (typeof path !== 'string' || path.length === 0))
      throw new TypeError(`GradientMonitor: path must be a non-empty string, got ${String(path)}`);
    super(model, {
      ...rest,
      save:
        path === undefined
          ? rest.save
          : async (json) => {
              writeFileAtomic(path, json, 'GradientMonitor');
              await rest.save?.(json);
            },
    });
  }
}
