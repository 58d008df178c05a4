/**
 * Peak memory of a deep MLP's training step with and without activation checkpointing
 * (utils.checkpoint). With the reference kernels (useCpuKernels('reference')) every tensor is a
 * plain ArrayBuffer the collector frees, so live memory is `process.memoryUsage().arrayBuffers` after a full
 * collection; it is sampled after every layer's forward (the recomputations too) and whenever a
 * weight's gradient arrives in backward, and the peak above the model's own parameters is
 * reported, with the bytes the graph holds saved for backward after the forward.
 * Each variant runs in a process of its own, so that neither sees the other's garbage:
 * Usage: node --expose-gc --import tsx bench/checkpoint_memory.ts plain|checkpoint [depth] [width] [batch] [segments]
 */
import { F, manualSeed, nn, randn, utils, type Node, type Tensor } from '../src/index.js';
import { useCpuKernels } from '../src/backend/wasm/wasm_backend.js';

const mode = process.argv[2];
if (mode !== 'plain' && mode !== 'checkpoint')
  throw new Error('first argument: plain or checkpoint');
const depth = Number(process.argv[3] ?? 24);
const width = Number(process.argv[4] ?? 256);
const batch = Number(process.argv[5] ?? 1024);
const segments = Number(process.argv[6] ?? Math.round(Math.sqrt(depth)));
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const device = 'cpu-reference';
// Float32 storage in plain ArrayBuffers, not the WebAssembly kernels' memory (which never shrinks).
useCpuKernels('reference');

function live(): number {
  gc!();
  return process.memoryUsage().arrayBuffers;
}

function savedBytes(t: Tensor): number {
  const storages = new Set<unknown>();
  const seen = new Set<Node>();
  const stack: Node[] = [t.gradFn!];
  let bytes = 0;
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (seen.has(node)) continue;
    seen.add(node);
    for (const s of node.savedTensors)
      if (!s.isLeaf && !storages.has(s.storage)) {
        storages.add(s.storage);
        bytes += (s.storage as Float32Array).byteLength;
      }
    for (const input of node.inputs) if (input !== null) stack.push(input);
  }
  return bytes;
}

function run(checkpoint: boolean) {
  manualSeed(0);
  const layers: nn.Module[] = [];
  for (let i = 0; i < depth; i++) layers.push(new nn.Linear(width, width), new nn.Tanh());
  const model = new nn.Sequential(...layers).to(device);
  const x = randn([batch, width], { device });
  const target = randn([batch, width], { device });
  const base = live();
  let peak = base;
  const sample = () => (peak = Math.max(peak, live()));
  for (const m of layers) m.registerForwardHook(() => void sample());
  for (const p of model.parameters()) if (p.ndim === 2) p.registerHook(() => void sample());
  const children = model.children();
  const perSegment = Math.ceil(children.length / segments);
  let h = x;
  if (!checkpoint) h = model.call(x);
  else
    for (let i = 0; i < children.length; i += perSegment) {
      const part = children.slice(i, i + perSegment);
      h = utils.checkpoint((a: Tensor) => part.reduce((v, m) => m.call(v) as Tensor, a), h);
    }
  const loss = F.mseLoss(h, target);
  const saved = savedBytes(loss);
  const afterForward = live() - base;
  loss.backward();
  sample();
  return { peak: peak - base, afterForward, saved };
}

const MB = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
const r = run(mode === 'checkpoint');
console.log(
  `MLP: ${depth} × (Linear(${width}, ${width}) + Tanh), batch ${batch}, float32, reference kernels; ${mode === 'checkpoint' ? `checkpointed in ${segments} segments` : 'plain'}`,
);
console.log(
  `  saved for backward after the forward ${MB(r.saved)}; live after the forward ${MB(r.afterForward)}; peak live over the step ${MB(r.peak)}`,
);
