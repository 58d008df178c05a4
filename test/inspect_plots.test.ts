/** inspect.plots: SVG strings drawn from histories and spectra. */
import { describe, expect, it } from 'vitest';
import { inspect } from '../src/index.js';

/** Checks that every tag is closed in order (the SVG is well-formed XML) and returns the tag names. */
function tags(svg: string): string[] {
  const stack: string[] = [];
  const names: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m;
    if (closing) expect(stack.pop(), `</${name}> closes the wrong tag`).toBe(name);
    else {
      names.push(name);
      if (!selfClosing) stack.push(name);
    }
  }
  expect(stack).toEqual([]);
  expect(svg.replace(/<[^>]*>/g, '')).not.toMatch(/[<>]|&(?!(lt|gt|amp|quot|apos);)/);
  return names;
}

const count = (svg: string, pattern: RegExp) => [...svg.matchAll(pattern)].length;

function monitorHistory(): inspect.GradientHistory {
  const records = [0, 5, 10].map((step, j) => ({
    step,
    epoch: 0,
    loss: 2 - j * 0.5,
    lr: 0.1,
    layers: {
      '0': {
        gradNorm: 10 ** (-6 + j),
        weightNorm: 1,
        updateRatio: null,
        activationMean: 0,
        activationStd: 1,
        deadFraction: null,
      },
      '1 <relu>': {
        gradNorm: null,
        weightNorm: null,
        updateRatio: null,
        activationMean: 0.3,
        activationStd: 0.5,
        deadFraction: 0.1,
      },
      '2': {
        gradNorm: 1,
        weightNorm: 1,
        updateRatio: null,
        activationMean: 0,
        activationStd: 1,
        deadFraction: null,
      },
    },
  }));
  return {
    format: 'chainrule.gradient-history',
    version: 1,
    every: 5,
    thresholds: inspect.DEFAULT_THRESHOLDS,
    records,
    epochs: [
      { epoch: 0, loss: 1.5, accuracy: 0.5, valLoss: 1.6, valAccuracy: 0.45 },
      { epoch: 1, loss: 1.0, accuracy: 0.7, valLoss: 1.2, valAccuracy: 0.6 },
      { epoch: 2, loss: 0.8, accuracy: 0.8, valLoss: 1.1, valAccuracy: 0.65 },
    ],
    problems: [],
  };
}

describe('inspect.plots', () => {
  it('draws loss and accuracy curves, one line per logged quantity, from either history', () => {
    const fitHistory = { epochs: monitorHistory().epochs.map(({ epoch: _, ...logs }) => logs) };
    for (const history of [monitorHistory(), fitHistory]) {
      const loss = inspect.plots.lossCurves(history);
      expect(tags(loss)[0]).toBe('svg');
      expect(count(loss, /<polyline class="series"/g)).toBe(2); // loss and valLoss
      expect(loss).toContain('validation loss');
      const points = /<polyline class="series" data-series="0" points="([^"]+)"/
        .exec(loss)![1]
        .split(' ');
      expect(points.length).toBe(3);
      // the loss falls: each point lower on the page is a larger y coordinate
      const ys = points.map((p) => Number(p.split(',')[1]));
      expect(ys[0]).toBeLessThan(ys[1]);
      expect(ys[1]).toBeLessThan(ys[2]);
      const acc = inspect.plots.accuracyCurves(history);
      tags(acc);
      expect(count(acc, /<polyline class="series"/g)).toBe(2);
      expect(acc).toContain('validation accuracy');
    }
  });

  it('plots the recorded batch losses by step when there are not two epochs', () => {
    const history = { ...monitorHistory(), epochs: [] };
    const svg = inspect.plots.lossCurves(history);
    tags(svg);
    expect(svg).toContain('batch loss');
    expect(/points="([^"]+)"/.exec(svg)![1].split(' ').length).toBe(3);
  });

  it('draws the gradient-norm heat map: a cell per layer with a gradient and step, colour by log10', () => {
    const svg = inspect.plots.gradientHeatmap(monitorHistory());
    tags(svg);
    expect(count(svg, /<rect class="cell"/g)).toBe(2 * 3); // the ReLU has no gradient: no row
    const fills = [
      ...svg.matchAll(/<rect class="cell"[^>]*fill="(#[0-9a-f]{6})"><title>0 at step/g),
    ].map((m) => m[1]);
    expect(fills).toEqual(['#440154', fills[1], fills[2]]);
    expect(new Set(fills).size).toBe(3); // 1e-6, 1e-5, 1e-4: three colours
    expect(svg).toContain('0 at step 10: 1.000e-4');
    expect(svg).toContain('1e-6.0'); // the colour bar's ends
    expect(svg).toContain('1e0.0');
  });

  it('escapes layer names and says when there is nothing to draw', () => {
    const history = monitorHistory();
    history.records[0].layers['<b>&'] = { ...history.records[0].layers['0'] };
    const svg = inspect.plots.gradientHeatmap(history);
    tags(svg);
    expect(svg).toContain('&lt;b&gt;&amp;');
    const empty = inspect.plots.gradientHeatmap({ ...monitorHistory(), records: [] });
    tags(empty);
    expect(empty).toContain('no gradient norms were recorded');
  });

  it('draws a Hessian spectrum from eigenvalues (negative ones in orange) or a density', () => {
    const svg = inspect.plots.hessianSpectrum([4, 1, -0.5]);
    tags(svg);
    expect(count(svg, /<line class="stem"/g)).toBe(3);
    expect(count(svg, /class="stem"[^>]*stroke="#d55e00"/g)).toBe(1);
    expect(svg).toContain('λ3 = -0.500000');
    expect(inspect.plots.hessianSpectrum({ eigenvalues: [4, 1, -0.5] })).toBe(svg);
    const density = inspect.plots.hessianSpectrum({ grid: [0, 1, 2], density: [0.5, 1e-4, 0.01] });
    tags(density);
    expect(density).toContain('1e-4');
    expect(() => inspect.plots.hessianSpectrum([])).toThrow(
      /eigenvalues must be a non-empty array of finite numbers/,
    );
    expect(() => inspect.plots.hessianSpectrum({ grid: [0, 1], density: [1] })).toThrow(
      /grid \(2\) and density \(1\) differ/,
    );
  });

  it('stacks every panel a history has data for', () => {
    const history = { ...monitorHistory(), hessianEigenvalues: [3, 2] };
    const svg = inspect.plots.historyPlot(history);
    tags(svg);
    expect(count(svg, /<g transform="translate\(0 /g)).toBe(4);
    expect(svg).toContain('gradient norm per layer');
    expect(svg).toContain('Hessian eigenvalues');
    expect(() => inspect.plots.historyPlot({} as never)).toThrow(
      /expected a GradientMonitor history or a fit History/,
    );
  });
});
