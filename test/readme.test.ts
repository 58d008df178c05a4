// The README's example, run as written: a new user's first program must work.
import { describe, expect, it } from 'vitest';
import { tensor, randn, nn, optim, F } from '../src/index.js';

describe('README example', () => {
  it('computes the gradient and takes an optimizer step', async () => {
    const x = tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { requiresGrad: true },
    );
    const y = x.pow(2).sum();
    y.backward();
    expect(x.grad!.toString()).toBe('tensor([[2., 4.],\n        [6., 8.]])');

    const model = new nn.Sequential(new nn.Linear(2, 8), new nn.ReLU(), new nn.Linear(8, 1));
    const optimizer = new optim.Adam(model.parameters(), { lr: 1e-2 });
    const before = model.parameters().map((p) => Array.from(p.dataSync()));
    const loss = F.mseLoss(model.call(randn([16, 2])), randn([16, 1]));
    loss.backward();
    optimizer.step();
    optimizer.zeroGrad();
    const after = model.parameters().map((p) => Array.from(p.dataSync()));
    expect(after).not.toEqual(before);
    expect(model.parameters().every((p) => p.grad === null)).toBe(true);
    // Reads: item() is a promise to await; itemSync() reads a CPU tensor at once.
    const value = await loss.item();
    expect(typeof value).toBe('number');
    expect(loss.itemSync()).toBe(value);
  });
});
