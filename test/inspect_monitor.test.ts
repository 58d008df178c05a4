/** inspect.GradientMonitor: a fit callback that records reports, warns once, writes its history. */
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { F, inspect, manualSeed, nn, optim, randint, randn, train } from '../src/node.js';
import { readHistory } from '../src/web/inspector/history.js';

function sigmoidNet(depth: number) {
  const layers: nn.Module[] = [];
  for (let i = 0; i < depth; i++) layers.push(new nn.Linear(8, 8), new nn.Sigmoid());
  return new nn.Sequential(...layers, new nn.Linear(8, 3));
}

const batches = (n: number) =>
  Array.from(
    { length: n },
    () =>
      [randn([16, 8]), randint(0, 3, [16])] as [ReturnType<typeof randn>, ReturnType<typeof randn>],
  );

describe('inspect.GradientMonitor', () => {
  it('records every k steps across epochs, warns once per problem and saves the history', async () => {
    manualSeed(0);
    const model = sigmoidNet(14);
    const optimizer = new optim.SGD(model.parameters(), { lr: 0.05 });
    const warnings: [string, number][] = [];
    const saved: string[] = [];
    const monitor = new inspect.GradientMonitor(model, {
      every: 3,
      optimizer,
      warn: (p, step) => warnings.push([`${p.kind}@${p.layer}`, step]),
      save: (json) => void saved.push(json),
    });
    await train.fit(model, batches(5), {
      optimizer,
      loss: (o, y) => F.crossEntropy(o, y),
      epochs: 2,
      callbacks: [monitor],
      metrics: { accuracy: train.accuracy },
    });
    const { records, epochs, problems } = monitor.history;
    expect(records.map((r) => r.step)).toEqual([0, 3, 6, 9]);
    expect(records.map((r) => r.epoch)).toEqual([0, 0, 1, 1]);
    expect(records[0].lr).toBe(0.05);
    expect(Object.keys(records[0].layers)).toContain('0');
    const first = records[0].layers['0'];
    expect(first.gradNorm!).toBeGreaterThan(0);
    expect(first.updateRatio!).toBeCloseTo((0.05 * first.gradNorm!) / first.weightNorm!, 10);
    expect(records[0].layers['1'].activationMean!).toBeGreaterThan(0); // a sigmoid's output
    expect(epochs.map((e) => e.epoch)).toEqual([0, 1]);
    expect(epochs[0]).toHaveProperty('accuracy');
    // the deep sigmoid net's first layers vanish at every record, but each warns once
    expect(warnings.length).toBeGreaterThan(0);
    expect(new Set(warnings.map(([k]) => k)).size).toBe(warnings.length);
    expect(warnings.map(([k]) => k)).toContain('vanishing@0');
    expect(problems.map((p) => `${p.kind}@${p.layer}`)).toEqual(warnings.map(([k]) => k));
    expect(problems[0].message).toMatch(/^layer '0' \(Linear\)/);
    // saved after each epoch and at the end: the last is the whole history
    expect(saved.length).toBe(2 + 1);
    expect(JSON.parse(saved[0]).records.length).toBe(2);
    // the browser inspector opens the file as it is: same steps, losses and gradient norms
    const page = readHistory(JSON.parse(saved[saved.length - 1]));
    expect(page.steps.map((s) => s.step)).toEqual([0, 3, 6, 9]);
    expect(page.steps.map((s) => s.loss)).toEqual(records.map((r) => r.loss));
    expect(page.steps[0].gradNorms.get('0')).toBe(first.gradNorm);
    expect(page.layers).toEqual(Object.keys(records[0].layers));
    expect(JSON.parse(saved.at(-1)!)).toEqual(JSON.parse(monitor.toJSON()));
  });

  it("chainrule/node's monitor writes the history file atomically, and parseHistory reads it", async () => {
    manualSeed(1);
    const dir = mkdtempSync(join(tmpdir(), 'monitor-'));
    const path = join(dir, 'history.json');
    const model = new nn.Sequential(new nn.Linear(8, 16), new nn.ReLU(), new nn.Linear(16, 3));
    const optimizer = new optim.Adam(model.parameters(), { lr: 1e-3 });
    const monitor = new inspect.GradientMonitor(model, { every: 1, optimizer, path, warn: null });
    await train.fit(model, batches(3), {
      optimizer,
      loss: (o, y) => F.crossEntropy(o, y),
      epochs: 1,
      callbacks: [monitor],
    });
    expect(readdirSync(dir)).toEqual(['history.json']); // no temporaries left
    const history = inspect.parseHistory(readFileSync(path, 'utf8'), path);
    expect(history.records.length).toBe(3);
    expect(inspect.historyLayers(history)).toEqual(['0', '1', '2']);
    expect(history.records[2].layers['1'].deadFraction).toBeGreaterThanOrEqual(0);
    expect(history.epochs.length).toBe(1);
  });

  it('rejects bad options and bad history files with clear errors', () => {
    const model = new nn.Linear(2, 2);
    expect(() => new inspect.GradientMonitor(model, { every: 0 })).toThrow(
      /every must be a positive integer, got 0/,
    );
    expect(() => new inspect.GradientMonitor({} as never)).toThrow(
      /GradientMonitor: expected an nn.Module/,
    );
    expect(() => inspect.parseHistory('{', 'h.json')).toThrow(/h.json: not JSON/);
    expect(() => inspect.parseHistory('{"a":1}', 'h.json')).toThrow(
      /neither a GradientMonitor history .* nor a fit History/,
    );
    expect(() =>
      inspect.parseHistory(
        '{"format":"chainrule.gradient-history","version":1,"records":[{}],"epochs":[],"problems":[]}',
        'h.json',
      ),
    ).toThrow(/h.json: records\[0\] needs a number 'step'/);
    const fitHistory = inspect.parseHistory(
      JSON.stringify({ epochs: [{ loss: 1 }, { loss: 0.5 }], series: { loss: [1, 0.5] } }),
    );
    expect(fitHistory.epochs).toEqual([
      { epoch: 0, loss: 1 },
      { epoch: 1, loss: 0.5 },
    ]);
  });
});
