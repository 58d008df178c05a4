/**
 * Opt-in recording for graph inspection: while it is on, `record` remembers for each new node
 * where the op was created (the first stack frames outside chainrule) and the tensor it produced,
 * so that `inspect.graph` can show creation sites and intermediate values. Off by default: a stack
 * trace per op costs microseconds, and keeping each op's output keeps its memory while the graph
 * lives.
 */
import type { Tensor } from '../tensor/tensor.js';
import { captureCreationStack } from './anomaly.js';
import type { Node } from './node.js';

let recording = false;

interface Recorded {
  readonly stack: string;
  readonly output: Tensor;
}

// Keyed by node, so a graph that is dropped takes its records with it.
const records = new WeakMap<Node, Recorded>();

/** Whether ops record their creation site and output for `inspect.graph`. */
export function isGraphRecording(): boolean {
  return recording;
}

/**
 * Turns graph recording on or off (see `recordGraph` for the scoped form).
 * @example
 * inspect.setRecordGraph(true);
 * const y = a.mul(b).sum();
 * inspect.graph(y).nodes[0].site; // 'at main (file:///model.ts:3:17)'
 */
export function setRecordGraph(enabled: boolean): void {
  if (typeof enabled !== 'boolean')
    throw new TypeError(`setRecordGraph: expected a boolean, got ${typeof enabled}`);
  recording = enabled;
}

/**
 * Runs `fn` with graph recording on: each op created inside remembers where it was created and
 * its output, which `inspect.graph(t, { values: true })` then shows for intermediate nodes too.
 * @example
 * const y = inspect.recordGraph(() => a.mul(b).add(a.sin()).sum());
 * inspect.graph(y, { values: true }).toJSON();
 */
export function recordGraph<T>(fn: () => T): T {
  const previous = recording;
  recording = true;
  try {
    return fn();
  } finally {
    recording = previous;
  }
}

/** Called by `record` while recording is on. */
export function noteRecorded(node: Node, output: Tensor): void {
  // Anomaly mode may have captured the same stack for the node already.
  records.set(node, { stack: node.creationStack ?? captureCreationStack(), output });
}

/** What was recorded for `node`, if it was created while recording was on. */
export function recordedOf(node: Node): Recorded | undefined {
  return records.get(node);
}
