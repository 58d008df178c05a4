// The inspector page's parts that run without a browser: presets, the history reader, the charts.
import { describe, expect, it } from 'vitest';
import { readHistory } from '../src/web/inspector/history.js';
import { heatMapSvg, lossCurveSvg } from '../src/web/inspector/charts.js';
import { buildProblem, makeOptimizer, PRESETS, trainStep } from '../src/web/inspector/presets.js';
import { expectAllClose } from './helpers/close.js';
import { parseXmlElements } from './helpers/xml.js';

describe('inspector presets', () => {
  it('the single neuron gives the worked example’s numbers', () => {
    const problem = buildProblem(PRESETS.neuron);
    const f = problem.forward();
    expectAllClose([f.itemSync() as number], [0.7310585786300049], { rtol: 1e-12 });
    f.backward();
    const { w0, x0, w1, x1, w2 } = problem.names;
    const d = 0.7310585786300049 * (1 - 0.7310585786300049);
    expectAllClose(
      [w0, x0, w1, x1, w2].map((t) => t.grad!.itemSync() as number),
      [-1 * d, 2 * d, -2 * d, -3 * d, d],
      { rtol: 1e-12 },
    );
    expect(makeOptimizer(problem)).toBeNull();
  });

  it('the deep sigmoid net has vanishing gradients, and ReLU with He init does not', () => {
    const ratio = (config: (typeof PRESETS)['deep-sigmoid']) => {
      const problem = buildProblem(config);
      const { gradNorms } = trainStep(problem, makeOptimizer(problem)!, 0);
      return gradNorms[0] / gradNorms[gradNorms.length - 1];
    };
    const deep = PRESETS['deep-sigmoid'];
    expect(ratio(deep)).toBeLessThan(1e-5);
    expect(ratio({ ...deep, activation: 'relu', init: 'he' })).toBeGreaterThan(1e-2);
  });

  it('the same config and seed give the same model; training the MLP lowers its loss', () => {
    const a = buildProblem(PRESETS.mlp);
    const b = buildProblem(PRESETS.mlp);
    expectAllClose(a.forward(), b.forward(), { rtol: 0 });
    const optimizer = makeOptimizer(a)!;
    const losses = Array.from({ length: 60 }, (_, i) => trainStep(a, optimizer, i).loss);
    expect(losses[59]).toBeLessThan(losses[0] / 2);
  });

  it('refuses a bad config, naming the field', () => {
    expect(() => buildProblem({ ...PRESETS.mlp, width: 0 })).toThrow(
      'inspector: width must be an integer from 1 to 64, got 0',
    );
    expect(() => buildProblem({ ...PRESETS.mlp, lr: Number.NaN })).toThrow(/lr must be in/);
    expect(() => buildProblem({ ...PRESETS.mlp, activation: 'gelu' as 'relu' })).toThrow(
      /activation must be relu, tanh or sigmoid, got 'gelu'/,
    );
  });
});

describe('readHistory', () => {
  it('reads the documented format and its variants', () => {
    const h = readHistory({
      steps: [
        {
          step: 0,
          loss: 0.7,
          layers: [
            { name: 'fc1', gradNorm: 0.1, weightNorm: 3 },
            { name: 'fc2', gradNorm: 0.2 },
          ],
        },
        {
          step: 5,
          layers: [
            { name: 'fc2', gradNorm: 0.3 },
            { name: 'fc3', gradNorm: null },
          ],
        },
      ],
      problems: [],
    });
    expect(h.layers).toEqual(['fc1', 'fc2', 'fc3']);
    expect(h.steps.map((s) => [s.step, s.loss])).toEqual([
      [0, 0.7],
      [5, null],
    ]);
    expect([...h.steps[1].gradNorms]).toEqual([['fc2', 0.3]]);
    const bare = readHistory([{ loss: 1, layers: { a: { grad_norm: 2 }, b: 4 } }, { loss: 0.5 }]);
    expect(bare.steps.map((s) => s.step)).toEqual([0, 1]);
    expect([...bare.steps[0].gradNorms]).toEqual([
      ['a', 2],
      ['b', 4],
    ]);
    expect(readHistory({ history: [{ step: 1, layers: [{ gradientNorm: 1 }] }] }).layers).toEqual([
      'layer 0',
    ]);
  });

  it('says what it expected', () => {
    expect(() => readHistory({ epochs: [] })).toThrow(
      'history: expected { steps: [{ step, loss?, layers: [{ name, gradNorm }] }] } (or a bare array of steps), got object with keys epochs',
    );
    expect(() => readHistory({ steps: [] })).toThrow('history: the history has no steps');
    expect(() => readHistory({ steps: [3] })).toThrow('history: step 0 is not an object');
    expect(() => readHistory({ steps: [{ layers: 'x' }] })).toThrow(
      /step 0: layers must be an array or an object/,
    );
  });
});

describe('inspector charts', () => {
  it('draws well-formed SVG: a curve and one cell per layer and step', () => {
    const curve = parseXmlElements(
      lossCurveSvg([
        { step: 0, loss: 1 },
        { step: 1, loss: null },
        { step: 2, loss: 0.5 },
      ]),
    );
    expect(curve[0].attrs['data-points']).toBe('2');
    expect(curve.filter((e) => e.name === 'path')).toHaveLength(1);
    parseXmlElements(lossCurveSvg([]));
    const map = parseXmlElements(
      heatMapSvg(
        ['a<1>', 'b'],
        [
          [1e-3, 1],
          [null, 0.5],
          [2e-3, 2],
        ],
      ),
    );
    // One background rect plus 2 layers × 3 steps; a missing value is a grey cell.
    const cells = map.filter((e) => e.name === 'rect').slice(1);
    expect(cells).toHaveLength(6);
    expect(cells.filter((c) => c.attrs.fill === '#ddd')).toHaveLength(1);
    // Long histories are sampled down to maxColumns.
    const long = Array.from({ length: 500 }, (_, i) => [i + 1]);
    expect(parseXmlElements(heatMapSvg(['a'], long, 380, 200, 100))[0].attrs['data-columns']).toBe(
      '100',
    );
  });
});
