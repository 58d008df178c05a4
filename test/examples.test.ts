/** The lessons in examples/, run with tiny sizes: each prints numbers that make sense. */
import { describe, expect, it } from 'vitest';
import { main as singleNeuron } from '../examples/single_neuron.js';
import { main as vanishing } from '../examples/vanishing_gradients.js';
import { main as exploding } from '../examples/exploding_gradients_rnn.js';
import { main as gradientChecking } from '../examples/gradient_checking.js';

function capture(): [string[], (line: string) => void] {
  const lines: string[] = [];
  return [lines, (line) => void lines.push(line)];
}

describe('examples', () => {
  it('single_neuron: the hand-made chain rule and autograd print the same numbers', () => {
    const [lines, log] = capture();
    const { hand, auto, maxDifference } = singleNeuron(log);
    expect(hand.output).toBeCloseTo(0.7310585786, 9); // σ(1)
    expect(hand.dw[0]).toBeCloseTo(-0.1966119332, 9); // CS231n's numbers
    expect(hand.dx).toEqual([expect.closeTo(0.3932238664, 9), expect.closeTo(-0.5898357997, 9)]);
    expect(maxDifference).toBeLessThan(1e-15);
    expect(auto.dw.length).toBe(3);
    const [byHand, byAutograd] = [
      lines.find((l) => l.startsWith('by hand'))!,
      lines.find((l) => l.startsWith('autograd'))!,
    ];
    expect(byHand.slice(8)).toBe(byAutograd.slice(8));
  });

  it('vanishing_gradients: the sigmoid net vanishes, ReLU + He, batch norm and residual do not', async () => {
    const [lines, log] = capture();
    const [sigmoid, ...fixed] = await vanishing({ depth: 12, width: 16, batch: 32 }, log);
    expect(sigmoid.name).toBe('sigmoid, default init');
    expect(sigmoid.ratio).toBeLessThan(1e-5); // orders of magnitude below the last hidden layer
    expect(sigmoid.problems.length).toBeGreaterThan(0);
    expect(sigmoid.problems.every((p) => p.startsWith('vanishing@'))).toBe(true);
    expect(fixed.map((r) => r.name)).toEqual([
      'ReLU + He init',
      'sigmoid + batch norm',
      'sigmoid + residual',
    ]);
    for (const r of fixed) {
      expect(r.ratio, r.name).toBeGreaterThan(1e-2);
      expect(r.problems, r.name).toEqual([]);
    }
    expect(lines.join('\n')).toMatch(
      /first \/ last hidden layer: \S+; gradientReport: \d+ problems \(vanishing@/,
    );
  });

  it('exploding_gradients_rnn: plain SGD diverges, clipping trains', async () => {
    const [lines, log] = capture();
    const [plain, clipped] = await exploding(
      { length: 30, hidden: 8, steps: 40, batch: 8, gain: 1.15, lr: 0.05 },
      log,
    );
    expect(plain.gradNorms[0]).toBeGreaterThan(1e4);
    expect(plain.divergedAt).not.toBeNull();
    expect(clipped.divergedAt).toBeNull();
    expect(clipped.losses.length).toBe(40);
    const last = clipped.losses.slice(-5).reduce((s, v) => s + v, 0) / 5;
    expect(last).toBeLessThan(clipped.losses[0] * 1e-3);
    expect(lines.join('\n')).toMatch(/gradientReport flags .* as exploding/);
  });

  it('gradient_checking: gradcheck passes the right backward and catches the wrong one', () => {
    const [lines, log] = capture();
    const [right, wrong] = gradientChecking({ size: 4 }, log);
    expect(right).toMatchObject({ name: 'SiLU', passed: true, message: null });
    expect(right.maxError).toBeLessThan(1e-8);
    expect(wrong.passed).toBe(false);
    expect(wrong.maxError).toBeGreaterThan(1e-2);
    expect(wrong.message).toMatch(/gradcheck: Jacobian mismatch .* analytical \S+, numerical \S+/);
    expect(lines[1]).toMatch(/^WrongSiLU: gradcheck FAILED/);
  });
});
