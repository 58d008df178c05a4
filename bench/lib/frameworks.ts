/** Loading each JavaScript framework the way its documentation says, with its version. */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type JsFramework = 'chainrule' | 'tfjs-cpu' | 'tfjs-wasm' | 'jax-eager' | 'jax-jit';

function packageVersion(name: string): string {
  return JSON.parse(
    readFileSync(new URL(`../../node_modules/${name}/package.json`, import.meta.url), 'utf8'),
  ).version;
}

export async function loadTfjs(backend: 'cpu' | 'wasm') {
  const tf = await import('@tensorflow/tfjs');
  if (backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend(backend)))
    throw new Error(`TensorFlow.js: backend '${backend}' failed to initialise`);
  await tf.ready();
  return { tf, label: `TensorFlow.js ${tf.version.tfjs} (${backend})` };
}

export async function loadJax(mode: 'eager' | 'jit') {
  const jax = await import('@jax-js/jax');
  const devices = await jax.init('wasm');
  if (!devices.includes('wasm')) throw new Error('jax-js: the wasm device failed to initialise');
  jax.defaultDevice('wasm');
  return { jax, label: `jax-js ${packageVersion('@jax-js/jax')} (wasm, ${mode})` };
}

/**
 * A module of chainrule as its users get it: the package's build (dist/, what `import
 * 'chainrule'` loads, compiled by tsc), not the sources run through tsx, whose transpilation
 * (esbuild keeping the name of every closure made per call) measured the MLP step 2.7% slower.
 * npm run bench builds it first.
 */
export async function importBuilt<T>(path: string): Promise<T> {
  const url = new URL(`../../dist/${path}`, import.meta.url);
  if (!existsSync(url))
    throw new Error(`chainrule: ${fileURLToPath(url)} is missing: run npm run build first`);
  return (await import(url.href)) as T;
}

interface KernelControls {
  setNumThreads?: (n: number | null) => Promise<void>;
  numThreads?: () => number;
  simdLevel?: () => string;
}

/**
 * chainrule's public API, with its 'cpu' backend as it is; `threads` pins the WebAssembly kernels'
 * thread count (internal control, where the backend has one). The label names the SIMD level and
 * threads the kernels use.
 */
export async function loadChainrule(threads?: number) {
  const cr = await importBuilt<typeof import('../../src/index.js')>('index.js');
  const kernels = await importBuilt<KernelControls>('backend/wasm/wasm_backend.js').catch(
    () => null,
  );
  if (threads !== undefined) {
    if (!kernels?.setNumThreads)
      throw new Error('chainrule: this backend has no thread-count control');
    await kernels.setNumThreads(threads);
  }
  const version = JSON.parse(
    readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
  ).version;
  const used = kernels?.numThreads?.();
  const detail =
    kernels?.simdLevel && used
      ? `: WebAssembly ${kernels.simdLevel()}, ${used} thread${used > 1 ? 's' : ''}`
      : '';
  return { cr, label: `chainrule ${version} (cpu backend${detail})`, threads: used };
}
