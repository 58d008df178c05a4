/** The `inspect` namespace of chainrule/node: the browser-safe one, with a GradientMonitor that writes files. */
export * from './index.js';
export { GradientMonitor, type GradientMonitorOptions } from './gradient_monitor_file.js';
