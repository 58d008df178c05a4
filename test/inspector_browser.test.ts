// The inspector in a real browser: Debian's chromium driven by playwright-core. The page is
// served by the `chainrule inspect` server; every gradient it shows is compared with the library's,
// computed here in Node for the same preset and seed. Screenshots go to test-results/inspector/.
// Without chromium the test is skipped, except under CI, where that is a failure.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspect, tensor, type Tensor } from '../src/index.js';
import { inspectorPageDir, serveInspectorPage } from '../src/cli/inspect_command.js';
import { buildProblem, PRESETS, type PresetName } from '../src/web/inspector/presets.js';
import { runCli } from './helpers/cli.js';
import { expectAllClose } from './helpers/close.js';

/** Debian's chromium: CHROMIUM_PATH, else the first `chromium` on PATH, else /usr/bin/chromium. */
const CHROMIUM =
  process.env.CHROMIUM_PATH ??
  (process.env.PATH ?? '')
    .split(delimiter)
    .map((dir) => join(dir, 'chromium'))
    .find((file) => existsSync(file)) ??
  '/usr/bin/chromium';
const found = existsSync(CHROMIUM);
const ci = process.env.CI !== undefined && !['', '0', 'false'].includes(process.env.CI);
if (!found && ci) {
  throw new Error(
    `inspector browser test: chromium not found at ${CHROMIUM}, and CI is set (.ci/run installs it)`,
  );
}
const SHOTS = 'test-results/inspector';

/** The library's gradient of each leaf of a preset, in Node. */
function nodeGrads(preset: PresetName): Map<string, number[]> {
  const problem = buildProblem(PRESETS[preset]);
  problem.forward().backward();
  return new Map(
    Object.entries(problem.names).map(([name, t]) => [
      name,
      Array.from(t.grad!.dataSync(), Number),
    ]),
  );
}

/** The leaf-gradient table: [name, step-through values, library values] per row. */
async function leafTable(page: Page): Promise<[string, number[] | null, number[]][]> {
  return page.$$eval('#leaf-grads tr[data-name]', (rows) =>
    rows.map((r) => [
      (r as HTMLElement).dataset.name!,
      JSON.parse(r.querySelector('td.stepped')!.getAttribute('data-values')!),
      JSON.parse(r.querySelector('td.library')!.getAttribute('data-values')!),
    ]),
  );
}

async function choosePreset(page: Page, preset: PresetName): Promise<void> {
  await page.selectOption('#preset', preset);
  await page.waitForFunction(
    (p) =>
      document.querySelector('#about')!.textContent !== '' &&
      (document.querySelector('#preset') as HTMLSelectElement).value === p,
    preset,
  );
}

async function trainSteps(page: Page, steps: number): Promise<void> {
  await page.fill('#steps', String(steps));
  await page.click('#train');
  await page.waitForFunction(
    (n) => document.getElementById('train-status')!.dataset.steps === String(n),
    steps,
    {
      timeout: 20_000,
    },
  );
}

describe.skipIf(!found)('the inspector page in chromium', () => {
  let browser: Browser;
  let server: Server;
  let page: Page;
  let url: string;
  const errors: string[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'chainrule-inspector-test-'));

  beforeAll(async () => {
    const dir = await inspectorPageDir();
    server = await serveInspectorPage(dir, 0);
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless=new', '--no-sandbox'],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (e) => errors.push(e.message));
    mkdirSync(SHOTS, { recursive: true });
    await page.goto(url);
    await page.waitForSelector('body[data-ready="true"]');
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => (server ? server.close(r) : r(null)));
    rmSync(tmp, { recursive: true, force: true });
  });

  it('steps through the worked neuron: the chain rule at each node, gradients equal to the library', async () => {
    expect(await page.locator('#graph svg g.node').count()).toBe(10);
    expect(await page.locator('#graph svg path.edge').count()).toBe(9);
    await page.click('#step');
    // The output's own step: upstream 1, σ' = σ(1 − σ) = 0.1966 at σ = 0.7311.
    const first = await page.$eval('#step-detail', (d) => ({
      upstream: JSON.parse(d.querySelector('.upstream')!.getAttribute('data-values')!),
      local: JSON.parse(d.querySelector('.local')!.getAttribute('data-values')!),
      product: JSON.parse(d.querySelector('.product')!.getAttribute('data-values')!),
      equation: d.querySelector('.equation')!.textContent,
    }));
    const s = 1 / (1 + Math.exp(-1));
    expect(first.upstream).toEqual([1]);
    expectAllClose(first.local, [s * (1 - s)], { rtol: 1e-12 });
    expectAllClose(first.product, [s * (1 - s)], { rtol: 1e-12 });
    expect(first.equation).toBe('1 × 0.1966 = 0.1966');
    expect(await page.locator('#graph g.node.current').count()).toBe(1);
    for (let i = 1; i < 10; i++) await page.click('#step');
    expect(await page.locator('#graph g.node.done').count()).toBe(9);
    await page.screenshot({
      path: `${SHOTS}/neuron-step-through.png`,
      fullPage: true,
      animations: 'disabled',
    });
    const expected = nodeGrads('neuron');
    const table = await leafTable(page);
    expect(table.map(([name]) => name)).toEqual(['w0', 'x0', 'w1', 'x1', 'w2']);
    for (const [name, stepped, library] of table) {
      expectAllClose(stepped!, expected.get(name)!, { rtol: 1e-12, message: name });
      expectAllClose(library, expected.get(name)!, { rtol: 1e-12, message: name });
    }
    expectAllClose(expected.get('w0')!, [-0.19661193324148185], { rtol: 1e-12 });
  });

  it('draws the MLP graph, replays its backward pass and trains it with live charts', async () => {
    await choosePreset(page, 'mlp');
    const problem = buildProblem(PRESETS.mlp);
    const g = inspect.graph(problem.forward(), { names: problem.names });
    expect(await page.locator('#graph svg g.node').count()).toBe(g.nodes.length);
    expect(await page.locator('#graph svg path.edge').count()).toBe(g.edges.length);
    const labels = await page.$$eval('#graph g.node text:first-of-type', (ts) =>
      ts.map((t) => t.textContent).sort(),
    );
    expect(labels).toEqual(g.nodes.map((n) => n.label).sort());
    await page.click('#step-all');
    const expected = nodeGrads('mlp');
    for (const [name, stepped, library] of await leafTable(page)) {
      expectAllClose(stepped!, expected.get(name)!, { rtol: 1e-5, atol: 1e-7, message: name });
      expectAllClose(library, expected.get(name)!, { rtol: 1e-5, atol: 1e-7, message: name });
    }
    await trainSteps(page, 40);
    expect(await page.getAttribute('#loss-curve svg', 'data-points')).toBe('40');
    expect(await page.getAttribute('#heat-map svg', 'data-layers')).toBe('3');
    await page.screenshot({
      path: `${SHOTS}/mlp-trained.png`,
      fullPage: true,
      animations: 'disabled',
    });
  });

  it('shows the deep sigmoid net and an edited model', async () => {
    await choosePreset(page, 'deep-sigmoid');
    await trainSteps(page, 30);
    expect(await page.getAttribute('#heat-map svg', 'data-layers')).toBe('11');
    await page.screenshot({
      path: `${SHOTS}/deep-sigmoid.png`,
      fullPage: true,
      animations: 'disabled',
    });
    // Edited: three ReLU layers of 4 with He init: 3 + 1 linear layers.
    await page.fill('#hidden', '3');
    await page.fill('#width', '4');
    await page.selectOption('#activation', 'relu');
    await page.selectOption('#init', 'he');
    await page.click('#build');
    const problem = buildProblem({
      ...PRESETS['deep-sigmoid'],
      hidden: 3,
      width: 4,
      activation: 'relu',
      init: 'he',
    });
    const g = inspect.graph(problem.forward(), { names: problem.names });
    expect(await page.locator('#graph svg g.node').count()).toBe(g.nodes.length);
    await page.fill('#hidden', '99');
    await page.click('#build');
    expect(await page.textContent('#error')).toContain(
      'hidden must be an integer from 1 to 20, got 99',
    );
  });

  it('opens a GradientMonitor history', async () => {
    const file = join(tmp, 'history.json');
    const steps = [0, 10, 20].map((step) => ({
      step,
      loss: 1 / (step + 1),
      layers: [
        { name: 'fc1', gradNorm: 1e-4 * (step + 1) },
        { name: 'fc2', gradNorm: 0.1 },
      ],
    }));
    writeFileSync(file, JSON.stringify({ steps }));
    await page.setInputFiles('#history-file', file);
    await page.waitForFunction(() => document.getElementById('history-status')!.textContent !== '');
    expect(await page.textContent('#history-status')).toBe('history.json: 3 steps, 2 layers');
    expect(await page.getAttribute('#history-charts svg.heat-map', 'data-columns')).toBe('3');
    await page.screenshot({ path: `${SHOTS}/history.png`, fullPage: true, animations: 'disabled' });
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, JSON.stringify({ epochs: [] }));
    await page.setInputFiles('#history-file', bad);
    await page.waitForFunction(() =>
      document.getElementById('history-status')!.textContent!.includes('expected'),
    );
    expect(await page.textContent('#history-status')).toContain(
      'bad.json: history: expected { steps',
    );
    expect(errors).toEqual([]);
  });

  it('opens the SVG of inspect.graph, and the page written by --static from file://', async () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const b = tensor([3, 4], { requiresGrad: true });
    const y: Tensor = a.mul(b).add(a.sin()).sum();
    const svgFile = join(tmp, 'graph.svg');
    writeFileSync(svgFile, inspect.graph(y, { names: { a, b } }).toSVG());
    const svgPage = await browser.newPage();
    await svgPage.goto(`file://${svgFile}`);
    expect(await svgPage.locator('g.node').count()).toBe(6);
    expect(await svgPage.locator('parsererror').count()).toBe(0);
    await svgPage.screenshot({ path: `${SHOTS}/graph-svg.png`, animations: 'disabled' });

    const out = join(tmp, 'static');
    expect(await runCli(['inspect', '--static', out])).toContain('index.html');
    await expect(runCli(['inspect', '--port', '70000'])).rejects.toThrow(
      'inspect: --port must be an integer from 0 to 65535, got 70000',
    );
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toContain('inspector.js');
    await svgPage.goto(`file://${out}/index.html`);
    await svgPage.waitForSelector('body[data-ready="true"]');
    expect(await svgPage.locator('#graph svg g.node').count()).toBe(10);
    await svgPage.close();
  });
});
