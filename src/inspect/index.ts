/** `inspect`: see backprop happen (graph export, gradient diagnostics, curvature). */

// Graph export and the backward step-through.
export {
  graph,
  Graph,
  type GraphOptions,
  type GraphNode,
  type GraphEdge,
  type GraphJSON,
} from './graph.js';
export {
  backwardSteps,
  type BackwardStep,
  type BackwardStepInput,
  type BackwardStepsOptions,
} from './backward_steps.js';
export { recordGraph, setRecordGraph, isGraphRecording } from '../autograd/graph_recording.js';
export {
  layeredLayout,
  type Layout,
  type LayoutBox,
  type LayoutEdge,
  type LayoutOptions,
} from './graph_layout.js';
