/**
 * The inspector page: chainrule runs here, in the browser. Builds a preset model, draws its
 * graph, steps through its backward pass, trains it with live charts, and reads histories
 * written by a Node run. Bundled by scripts/build_inspector.ts into dist/inspector/.
 */
import { inspect, type Tensor } from '../../index.js';
import { heatMapSvg, lossCurveSvg } from './charts.js';
import { readHistory } from './history.js';
import {
  buildProblem,
  makeOptimizer,
  PRESETS,
  trainStep,
  type ModelConfig,
  type PresetName,
  type Problem,
  type TrainRecord,
} from './presets.js';
import { stepHtml } from './step_view.js';
import { escapeXml } from '../../inspect/plots/svg.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const input = (id: string) => $<HTMLInputElement>(id);

interface State {
  problem: Problem;
  graph: inspect.Graph;
  steps: inspect.BackwardStep[];
  /** Steps shown so far (0: none). */
  shown: number;
  history: TrainRecord[];
  training: boolean;
}

let state: State | null = null;

function showError(error: unknown): void {
  $('error').textContent = error instanceof Error ? error.message : String(error);
}

function fillForm(preset: PresetName): void {
  const p = PRESETS[preset];
  input('hidden').value = String(p.hidden);
  input('width').value = String(p.width);
  $<HTMLSelectElement>('activation').value = p.activation;
  $<HTMLSelectElement>('init').value = p.init;
  input('lr').value = String(p.lr);
  input('seed').value = String(p.seed);
  input('points').value = String(p.points);
  $('about').textContent = p.about;
  $('mlp-fields').style.display = preset === 'neuron' ? 'none' : '';
}

function readForm(): ModelConfig {
  return {
    preset: $<HTMLSelectElement>('preset').value as PresetName,
    hidden: Number(input('hidden').value),
    width: Number(input('width').value),
    activation: $<HTMLSelectElement>('activation').value as ModelConfig['activation'],
    init: $<HTMLSelectElement>('init').value as ModelConfig['init'],
    lr: Number(input('lr').value),
    seed: Number(input('seed').value),
    points: Number(input('points').value),
  };
}

function build(): void {
  showError('');
  try {
    const problem = buildProblem(readForm());
    state = { problem, graph: null!, steps: [], shown: 0, history: [], training: false };
    draw();
    renderCharts();
  } catch (error) {
    showError(error);
  }
}

/** Records the graph at the current weights and resets the step-through. */
function draw(): void {
  const s = state!;
  const output = inspect.recordGraph(() => s.problem.forward());
  s.graph = inspect.graph(output, { names: s.problem.names, values: true });
  s.steps = inspect.backwardSteps(output);
  s.shown = 0;
  const container = $('graph');
  container.innerHTML = s.graph.toSVG({ idPrefix: 'inspector' });
  // Drawn node by node, in the order of the forward pass.
  const delay = Math.min(40, 2000 / Math.max(1, s.graph.nodes.length));
  container.querySelectorAll<SVGGElement>('g.node').forEach((g) => {
    g.style.animationDelay = `${Number(g.dataset.id!.slice(1)) * delay}ms`;
  });
  $('graph-summary').textContent = `(${s.graph.nodes.length} nodes, ${s.graph.edges.length} edges)`;
  renderLeafTable();
  renderStep();
}

function labelOf(node: inspect.BackwardStep['node']): string {
  const s = state!;
  const id = s.graph.idOf(node);
  const info = s.graph.nodes.find((n) => n.id === id);
  return info === undefined
    ? node.name
    : info.kind === 'leaf'
      ? info.label
      : `${info.label} (${info.id})`;
}

/** The library's own gradients of the same output: a separate forward and backward. */
function libraryGrads(problem: Problem): Map<Tensor, number[]> {
  const leaves = Object.values(problem.names);
  const saved = leaves.map((t) => t.grad);
  for (const t of leaves) t.grad = null;
  problem.forward().backward();
  const grads = new Map(leaves.map((t) => [t, Array.from(t.grad?.dataSync() ?? [], Number)]));
  leaves.forEach((t, i) => (t.grad = saved[i]));
  return grads;
}

function renderLeafTable(): void {
  const s = state!;
  const library = libraryGrads(s.problem);
  const replayed = new Map<string, Tensor>();
  for (const step of s.steps.slice(0, s.shown))
    if (step.inputs.length === 0) replayed.set(labelOf(step.node), step.upstream);
  const cell = (cls: string, vs: number[] | null) =>
    vs === null
      ? `<td class="num ${cls}" data-values="null">…</td>`
      : `<td class="num ${cls}" data-values="${escapeXml(JSON.stringify(vs))}">${vs
          .slice(0, 4)
          .map((v) => Number(v.toPrecision(4)))
          .join(', ')}${vs.length > 4 ? ', …' : ''}</td>`;
  const rows = Object.entries(s.problem.names).map(([name, t]) => {
    const mine = replayed.get(name);
    return `<tr data-name="${escapeXml(name)}"><td>${escapeXml(name)}</td>${cell('stepped', mine ? Array.from(mine.dataSync(), Number) : null)}${cell('library', library.get(t)!)}</tr>`;
  });
  $('leaf-grads').innerHTML =
    `<tr><th>leaf</th><th>from the step-through</th><th>library .grad</th></tr>${rows.join('')}`;
}

function renderStep(): void {
  const s = state!;
  const svg = $('graph');
  svg.querySelectorAll('g.node').forEach((g) => g.classList.remove('current', 'done'));
  s.steps.slice(0, s.shown).forEach((step, i) => {
    const g = svg.querySelector(`g.node[data-id="${s.graph.idOf(step.node)}"]`);
    g?.classList.add(i === s.shown - 1 ? 'current' : 'done');
  });
  const detail = $('step-detail');
  detail.innerHTML =
    s.shown === 0
      ? `<div class="row">${s.steps.length} steps. Press Step to start at the output, whose gradient with respect to itself is 1.</div>`
      : stepHtml(s.steps[s.shown - 1], s.shown - 1, s.steps.length, labelOf);
  detail.dataset.shown = String(s.shown);
  renderLeafTable();
}

function step(delta: number): void {
  if (!state) return;
  state.shown = Math.min(state.steps.length, Math.max(0, state.shown + delta));
  renderStep();
}

function renderCharts(): void {
  const s = state!;
  $('loss-curve').innerHTML = lossCurveSvg(s.history);
  const names = s.problem.layers.map(([name]) => name);
  $('heat-map').innerHTML =
    names.length > 0
      ? heatMapSvg(
          names,
          s.history.map((r) => r.gradNorms),
        )
      : '';
  $('train-status').textContent =
    s.problem.model === null
      ? 'The worked example has no data to fit: pick the MLP or the deep sigmoid net to train.'
      : s.history.length === 0
        ? 'not trained yet'
        : `step ${s.history.length}, loss ${s.history[s.history.length - 1].loss.toFixed(4)}`;
  $('train-status').dataset.steps = String(s.history.length);
}

function train(): void {
  const s = state;
  if (!s || s.training) return;
  const optimizer = makeOptimizer(s.problem);
  if (optimizer === null) return renderCharts();
  const target = s.history.length + Math.max(1, Number(input('steps').value) || 1);
  s.training = true;
  const chunk = () => {
    if (!s.training || state !== s) return;
    try {
      const end = Math.min(target, s.history.length + 5);
      while (s.history.length < end)
        s.history.push(trainStep(s.problem, optimizer, s.history.length));
    } catch (error) {
      s.training = false;
      showError(error);
    }
    renderCharts();
    if (s.history.length < target && s.training) setTimeout(chunk, 0);
    else s.training = false;
  };
  chunk();
}

async function openHistory(file: File): Promise<void> {
  try {
    const history = readHistory(JSON.parse(await file.text()));
    const columns = history.steps.map((st) =>
      history.layers.map((name) => st.gradNorms.get(name) ?? null),
    );
    $('history-charts').innerHTML =
      lossCurveSvg(history.steps.map((st) => ({ step: st.step, loss: st.loss }))) +
      (history.layers.length > 0 ? heatMapSvg(history.layers, columns) : '');
    $('history-status').textContent =
      `${file.name}: ${history.steps.length} steps, ${history.layers.length} layers`;
  } catch (error) {
    $('history-charts').innerHTML = '';
    $('history-status').textContent =
      `${file.name}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

function start(): void {
  $<HTMLSelectElement>('preset').addEventListener('change', (e) => {
    fillForm((e.target as HTMLSelectElement).value as PresetName);
    build();
  });
  $('build').addEventListener('click', build);
  $('step').addEventListener('click', () => step(1));
  $('step-back').addEventListener('click', () => step(-1));
  $('step-all').addEventListener('click', () => step(Infinity));
  $('redraw').addEventListener('click', () => state && draw());
  $('train').addEventListener('click', train);
  $('stop').addEventListener('click', () => state && (state.training = false));
  input('history-file').addEventListener('change', () => {
    const file = input('history-file').files?.[0];
    // Cleared, so that choosing the same file again (rewritten by a running job) reloads it.
    input('history-file').value = '';
    if (file) void openHistory(file);
  });
  fillForm('neuron');
  build();
  document.body.dataset.ready = 'true';
}

start();
