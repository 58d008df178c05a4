// The core as a browser bundler sees it: bundled with esbuild for the browser (ESM and IIFE), it
// must load and run where there is no `process`, no `require`, no Node built-in and no
// `import.meta.url` (an IIFE has none): here, a fresh node:vm context with only JavaScript's own
// globals.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import vm from 'node:vm';
import { build, type Format } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'chainrule-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function bundle(format: Format): Promise<string> {
  const result = await build({
    entryPoints: ['src/index.ts'],
    bundle: true,
    format,
    globalName: format === 'iife' ? 'chainrule' : undefined,
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  });
  expect(result.warnings.map((w) => w.text)).toEqual([]);
  return result.outputFiles[0].text;
}

// Runs in the bundle's context: a small training step, so the kernels load too.
const smoke = `
  const x = c.tensor([[1, 2], [3, 4]], { requiresGrad: true });
  x.matmul(x).sum().backward();
  const model = new c.nn.Sequential(new c.nn.Linear(4, 8), new c.nn.ReLU(), new c.nn.Linear(8, 2));
  c.F.crossEntropy(model.call(c.randn([3, 4])), c.tensor([0, 1, 1], { dtype: 'int32' })).backward();
  JSON.stringify({
    grad: Array.from(x.grad.dataSync()),
    withGrads: model.parameters().filter((p) => p.grad !== null).length,
    node: typeof process + ',' + typeof require,
  });
`;
const expected = { grad: [7, 11, 9, 13], withGrads: 4, node: 'undefined,undefined' };

/**
 * A page's globals without Node's: the Encoding API that every browser has (protobufjs, which the
 * ONNX export in the main entry uses, makes its UTF-8 decoder at load), and no process or require.
 */
const BROWSER_GLOBALS = '{ TextDecoder, TextEncoder }';

describe('the core bundled for the browser', () => {
  it('an IIFE bundle loads and trains in a context without Node globals', async () => {
    const code = await bundle('iife');
    const context = vm.createContext({ TextDecoder, TextEncoder });
    vm.runInContext(`${code}\nglobalThis.c = chainrule;`, context);
    expect(JSON.parse(vm.runInContext(smoke, context) as string)).toEqual(expected);
  });

  it('an ESM bundle loads and trains in a context without Node globals', async () => {
    const code = await bundle('esm');
    expect(code).not.toContain('import.meta');
    const file = join(dir, 'core.mjs');
    writeFileSync(file, code);
    // vm modules need a flag, so they run in a child process.
    const runner = `
      import vm from 'node:vm';
      import { readFileSync } from 'node:fs';
      const context = vm.createContext(${BROWSER_GLOBALS});
      const core = new vm.SourceTextModule(readFileSync(${JSON.stringify(file)}, 'utf8'), { context });
      await core.link(() => { throw new Error('the bundle imports a module'); });
      await core.evaluate();
      context.c = core.namespace;
      process.stdout.write(vm.runInContext(${JSON.stringify(smoke)}, context));
    `;
    const out = execFileSync(
      process.execPath,
      ['--experimental-vm-modules', '--no-warnings', '--input-type=module', '-e', runner],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual(expected);
  });
});
