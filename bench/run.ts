/**
 * The benchmark suite: chainrule and its peers on the same work, in one process tree on one
 * machine. Each (family, framework) pair runs in a fresh child process (a family with `rounds`
 * runs each framework that many times, in rounds of alternating order, samples pooled); results go to
 * bench/results/<family>.json and BENCHMARKS.md (the MNIST section is bench/mnist.ts's own).
 *
 *   npm run bench                      # everything (about 11–12 minutes on 2 cores)
 *   npm run bench:quick                # smoke run: fewer repeats, slowest cases left out
 *   npm run bench -- --only mlp,cnn    # some families (and/or frameworks: --only mlp,chainrule,torch-1)
 *
 * chainrule runs from its build in dist/ (bench/lib/frameworks.ts, importBuilt), which these
 * npm scripts make first.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { chainSetup, cnnSetup, mlpSetup, writeSetup } from './lib/data.js';
import { summarize } from './lib/measure.js';
import { RESULT_MARKER, type CaseResult, type FrameworkResult } from './lib/protocol.js';
import { median, speedup, suiteSection, type Ceilings, type SuiteFile } from './lib/report.js';
import { CHAIN_SIZE } from './suites/overhead.js';
import { GRU_CASE, LSTM_CASE, TRANSFORMER_CASE } from './suites/sequence.js';

const PYTHON = '/usr/bin/python3';
const RESULTS = 'bench/results';
const JS = ['chainrule', 'tfjs-cpu', 'tfjs-wasm', 'jax-eager', 'jax-jit'];
const EXTRA = ['chainrule-1'];
const TORCH = ['torch-1', 'torch-2'];

interface Family {
  suite: string;
  title: string;
  description: string;
  higherIsBetter: boolean;
  frameworks: string[];
  /** Frameworks left out of --quick runs (tens of seconds per call). */
  slowInQuick?: string[];
  /**
   * Child processes per framework (1 when absent), run in rounds whose order alternates (A B C,
   * then C B A) and pooled: see `pooled`. Rounds after the first leave out `slowInQuick`.
   */
  rounds?: number;
}

const FAMILIES: Family[] = [
  {
    suite: 'ceiling',
    title: 'WebAssembly ceilings',
    description:
      'A loop of independent 128-bit multiply-adds on registers only (src/backend/wasm/ceiling_module.ts, run by bench/lib/ceiling.ts), on 1 and 2 worker threads at once: the most a WebAssembly kernel can compute on this machine. Relaxed SIMD needs the V8 flag `--experimental-wasm-relaxed-simd` in Node 20, which chainrule sets at start-up.',
    higherIsBetter: true,
    frameworks: ['wasm'],
  },
  {
    suite: 'matmul',
    title: 'matmul',
    description:
      'float32 n × n times n × n, result read back; 2n³ flops. Sizes expected to take over 15 s per call (1.5 s with `--quick`) are skipped.',
    higherIsBetter: true,
    frameworks: ['chainrule', 'chainrule-1', 'tfjs-cpu', 'tfjs-wasm', 'jax-eager', ...TORCH],
  },
  {
    suite: 'mlp',
    title: 'MLP training step',
    description:
      'MLP 784-256-128-10, ReLU, softmax cross-entropy, plain SGD (lr 0.05): one step is forward + backward + update with the loss read back; the same batch and initial weights in every framework.',
    higherIsBetter: false,
    frameworks: [...JS, ...TORCH],
    // The tightest targets (20× TensorFlow.js at batch 128), and a step of ~1.5 ms: on this
    // shared VM one framework's minute could run ~7% slower than another's (six runs read the
    // ratio at 19.9–23.1×). Two rounds in opposite orders put every framework early and late.
    rounds: 2,
  },
  {
    suite: 'cnn',
    title: 'CNN training step',
    description:
      'conv3x3(32)-ReLU-maxpool2-conv3x3(64)-ReLU-maxpool2-linear(10) on 28×28×1 images, batch 64, softmax cross-entropy, plain SGD (lr 0.05): ms per step (forward + backward + update, loss read back).',
    higherIsBetter: false,
    frameworks: [...JS, ...TORCH],
    slowInQuick: ['tfjs-cpu', 'jax-eager'],
    // PyTorch's 2-thread step read 13.9–19.0 ms over seven runs, ours 17.1–20.6 (goal 1.5×).
    rounds: 2,
  },
  {
    suite: 'private_int8',
    title: 'DP-SGD and int8 training',
    description:
      'chainrule alone (bench/suites/private_int8.ts): the MLP step at batch 256 with SGD and with DP-SGD (per-sample clipping to 1, noise 1.1; goal: at most 3× SGD); n = 1024 matmul in int8 (GOPS, relaxed-SIMD and plain-SIMD kernels) against float32 (GFLOP/s; goal: int8 at least 1.5×); the int8 (NITI) MLP and CNN steps at batch 64 against float32 SGD steps. Mixed units: compare rows within the table.',
    higherIsBetter: false,
    frameworks: ['chainrule'],
  },
  {
    suite: 'sequence',
    title: 'Sequence-model training steps',
    description:
      'LSTM and GRU language-model step: input 64, hidden 256, batch 32, sequence 100, batch-first, a linear head over every step, MSE, SGD (lr 0.01); a pre-norm transformer encoder step: d 128, 4 layers, 4 heads, feed-forward 512, GELU, causal mask, sequence 64, batch 16, MSE, SGD (bench/suites/sequence.ts). ms per step, loss read back. TensorFlow.js wasm runs the recurrent steps with tf.layers.lstm / gru and its SGD optimizer.',
    higherIsBetter: false,
    frameworks: ['chainrule', 'tfjs-wasm', ...TORCH],
    slowInQuick: ['tfjs-wasm'],
  },
  {
    suite: 'overhead',
    title: 'Eager overhead',
    description: `"add, 1 element": µs per op of a 1-element add with gradient tracking, in a loop of 1,000 (timed around the loop; TensorFlow.js and jax-js track gradients inside their gradient function, so the loop runs there). "chain": ms for 100 elementwise ops (×a, +b, tanh) on ${CHAIN_SIZE.toLocaleString('en-US')} elements, then sum and backward to the input.`,
    higherIsBetter: false,
    frameworks: [...JS, ...TORCH],
  },
];

// ---------------------------------------------------------------- command line

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const onlyIndex = argv.indexOf('--only');
const only = onlyIndex >= 0 ? (argv[onlyIndex + 1] ?? '').split(',').filter(Boolean) : [];
const knownSuites = [...FAMILIES.map((f) => f.suite), 'mnist'];
const knownFrameworks = [...JS, ...EXTRA, ...TORCH, 'wasm'];
for (const name of only) {
  if (!knownSuites.includes(name) && !knownFrameworks.includes(name)) {
    process.stderr.write(
      `bench: unknown name '${name}' in --only; expected families ${knownSuites.join(', ')} or frameworks ${knownFrameworks.join(', ')}\n`,
    );
    process.exit(2);
  }
}
const onlySuites = only.filter((n) => knownSuites.includes(n));
const onlyFrameworks = only.filter((n) => knownFrameworks.includes(n));
const wantSuite = (s: string) =>
  onlySuites.length ? onlySuites.includes(s) : s !== 'mnist' || (!quick && !onlyFrameworks.length);
const wantFramework = (f: string) => !onlyFrameworks.length || onlyFrameworks.includes(f);
const command = `npm run bench${quick ? ':quick' : ''}${only.length ? ` -- --only ${only.join(',')}` : ''}`;

// ---------------------------------------------------------------- machine and versions

function torchVersion(): string | undefined {
  if (!existsSync(PYTHON)) return undefined;
  try {
    return execFileSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

function chainruleVersion(): string {
  const version = JSON.parse(readFileSync('package.json', 'utf8')).version;
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
    }).trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim() !==
      '';
    return `${version} (commit ${commit}${dirty ? ' with uncommitted changes in src/' : ''}; its build in dist/, as the package ships it)`;
  } catch {
    return version;
  }
}

const packageVersion = (name: string) =>
  JSON.parse(readFileSync(`node_modules/${name}/package.json`, 'utf8')).version;
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${type()} ${release()}, Node ${process.version} (V8 ${process.versions.v8})`;
const torch = torchVersion();
const versions = [
  `chainrule ${chainruleVersion()}`,
  `TensorFlow.js ${packageVersion('@tensorflow/tfjs')} (\`@tensorflow/tfjs\` cpu, \`@tensorflow/tfjs-backend-wasm\` ${packageVersion('@tensorflow/tfjs-backend-wasm')})`,
  `jax-js ${packageVersion('@jax-js/jax')} (wasm)`,
  torch
    ? `PyTorch ${torch} (${PYTHON})`
    : `PyTorch: not found (${PYTHON} has no \`torch\`): its rows are skipped`,
];

// ---------------------------------------------------------------- children

function runChild(
  file: string,
  args: string[],
  timeoutS: number,
): Promise<{ stdout: string; stderr: string; code: number | null; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutS * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code, timedOut });
    });
  });
}

/** Whether a framework of `family` runs in its rounds after the first: all but the slow ones (seconds per step). */
const inLaterRounds = (family: Family, framework: string) =>
  !family.slowInQuick?.includes(framework);

/**
 * One result from a framework's rounds: each case's samples pooled (the median of all of them),
 * or, where a round failed or did not report the case, that round's failure; the correctness
 * guard's losses are the first round's.
 */
function pooled(rounds: readonly FrameworkResult[]): FrameworkResult {
  if (rounds.length === 1) return rounds[0];
  const cases = rounds[0].cases.map((first): CaseResult => {
    const all = rounds.map((r) => r.cases.find((c) => c.name === first.name));
    const failed = all.findIndex((c) => c?.status !== 'ok');
    if (failed >= 0) {
      // A child that failed as a whole reports one 'all' case with the reason.
      const why = rounds[failed].cases.map((c) => c.note).filter(Boolean);
      return (
        all[failed] ?? {
          name: first.name,
          status: 'error',
          note: `round ${failed + 1}: ${why.join('; ') || 'no result for this case'}`,
        }
      );
    }
    const samples = all.flatMap((c) => c!.samples ?? []);
    const roundMedians = all.map((c) => c!.summary!.median);
    return { ...first, samples, summary: summarize(samples), roundMedians };
  });
  return { ...rounds[0], cases };
}

async function runPair(
  suite: string,
  framework: string,
  dataFolder: string,
): Promise<FrameworkResult> {
  const timeoutS = quick ? 150 : 600;
  const isTorch = framework.startsWith('torch-');
  const { stdout, stderr, code, timedOut } = isTorch
    ? await runChild(
        PYTHON,
        [
          'bench/suites/torch_suite.py',
          suite,
          '--threads',
          framework.slice(6),
          '--data',
          dataFolder,
          ...(quick ? ['--quick'] : []),
        ],
        timeoutS,
      )
    : await runChild(
        process.execPath,
        ['--import', 'tsx', 'bench/child.ts', suite, framework, ...(quick ? ['--quick'] : [])],
        timeoutS,
      );
  const line = stdout.split('\n').find((l) => l.startsWith(RESULT_MARKER));
  if (line) return JSON.parse(line.slice(RESULT_MARKER.length));
  const why = timedOut
    ? `timed out after ${timeoutS} s`
    : `exited with code ${code}: ${stderr.trim().split('\n').slice(-3).join(' ')}`;
  process.stderr.write(`  ${why}\n`);
  return {
    suite,
    framework,
    label: framework,
    cases: [{ name: 'all', status: 'error', note: why }],
  };
}

// ---------------------------------------------------------------- results files

function readSuite(suite: string): SuiteFile | undefined {
  const path = join(RESULTS, `${suite}.json`);
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : undefined;
}

function ceilingsOf(file: SuiteFile | undefined): Ceilings | undefined {
  if (!file) return undefined;
  const values = file.results
    .flatMap((r) => r.cases)
    .filter((c) => c.status === 'ok' && c.name.startsWith('relaxed'))
    .map((c) => ({
      name: c.name.replace(/ \(.*\)/, ''),
      gflops: c.summary!.median,
      threads: Number(/(\d+) thread/.exec(c.name)?.[1] ?? 1),
    }));
  return values.length ? { label: 'relaxed-SIMD FMA', values } : undefined;
}

interface Target {
  target: string;
  measured?: number;
  goal: number;
  kind: 'at least' | 'at most';
  text?: string;
}

function targets(files: Record<string, SuiteFile | undefined>): Target[] {
  const out: Target[] = [];
  const get = (suite: string, fw: string, name: string) =>
    files[suite] ? median(files[suite]!.results, fw, name) : undefined;
  const mm = (fw: string) => get('matmul', fw, 'n=1024');
  out.push({
    target: 'matmul n=1024: chainrule ÷ jax-js wasm',
    measured: speedup(true, mm('chainrule'), mm('jax-eager')),
    goal: 2,
    kind: 'at least',
  });
  for (const c of ceilingsOf(files.ceiling)?.values ?? []) {
    // chainrule on as many threads as the ceiling: pinned to 1, or its default when that is 2.
    const threads = c.threads;
    const run = files.matmul?.results.find((r) =>
      threads === 1
        ? r.framework === 'chainrule-1'
        : r.framework === 'chainrule' && r.threads === threads,
    );
    const gflops = run ? mm(run.framework) : undefined;
    const share = gflops !== undefined ? gflops / c.gflops : undefined;
    out.push({
      target: `matmul n=1024: chainrule on ${threads} thread${threads > 1 ? 's' : ''} ÷ ${c.name} ceiling`,
      measured: share,
      goal: 0.75,
      kind: 'at least',
      text: share === undefined ? undefined : `${(share * 100).toFixed(0)}%`,
    });
  }
  for (const batch of ['batch 128', 'batch 1000']) {
    const me = get('mlp', 'chainrule', batch);
    out.push({
      target: `MLP ${batch}: speed-up over jax-js jit`,
      measured: speedup(false, me, get('mlp', 'jax-jit', batch)),
      goal: 3,
      kind: 'at least',
    });
    out.push({
      target: `MLP ${batch}: speed-up over TensorFlow.js wasm`,
      measured: speedup(false, me, get('mlp', 'tfjs-wasm', batch)),
      goal: 20,
      kind: 'at least',
    });
    const torchBest = Math.min(...TORCH.map((t) => get('mlp', t, batch) ?? Infinity));
    out.push({
      target: `MLP ${batch}: chainrule time ÷ PyTorch at its best thread count`,
      measured: me !== undefined && Number.isFinite(torchBest) ? me / torchBest : undefined,
      goal: 2,
      kind: 'at most',
    });
  }
  const cnn = get('cnn', 'chainrule', 'batch 64');
  const jaxBest = Math.min(
    ...['jax-eager', 'jax-jit'].map((t) => get('cnn', t, 'batch 64') ?? Infinity),
  );
  out.push({
    target: 'CNN: speed-up over jax-js (its faster mode)',
    measured: Number.isFinite(jaxBest) ? speedup(false, cnn, jaxBest) : undefined,
    goal: 50,
    kind: 'at least',
  });
  const torchCnn = Math.min(...TORCH.map((t) => get('cnn', t, 'batch 64') ?? Infinity));
  out.push({
    target: 'CNN: chainrule time ÷ PyTorch at its best thread count',
    measured: cnn !== undefined && Number.isFinite(torchCnn) ? cnn / torchCnn : undefined,
    goal: 1.5,
    kind: 'at most',
  });
  for (const name of [LSTM_CASE, GRU_CASE, TRANSFORMER_CASE]) {
    const me = get('sequence', 'chainrule', name);
    const torchBest = Math.min(...TORCH.map((t) => get('sequence', t, name) ?? Infinity));
    out.push({
      target: `${name}: chainrule time ÷ PyTorch at its best thread count`,
      measured: me !== undefined && Number.isFinite(torchBest) ? me / torchBest : undefined,
      goal: 1.5,
      kind: 'at most',
    });
    if (name !== TRANSFORMER_CASE)
      out.push({
        target: `${name}: speed-up over TensorFlow.js wasm`,
        measured: speedup(false, me, get('sequence', 'tfjs-wasm', name)),
        goal: 10,
        kind: 'at least',
      });
  }
  return out;
}

function targetsSection(list: Target[], dates: string[]): string {
  const rows = list.map((t) => {
    const measured =
      t.measured === undefined ? 'not measured' : (t.text ?? `${t.measured.toFixed(2)}×`);
    const goal = t.goal < 1 ? `${t.kind} ${(t.goal * 100).toFixed(0)}%` : `${t.kind} ${t.goal}×`;
    const met =
      t.measured === undefined
        ? '–'
        : (t.kind === 'at least' ? t.measured >= t.goal : t.measured <= t.goal)
          ? 'yes'
          : 'no';
    return `| ${t.target} | ${measured} | ${goal} | ${met} |`;
  });
  const from =
    new Set(dates).size === 1
      ? `from the run of ${dates[0]}`
      : `⚠ from more than one run (${[...new Set(dates)].join(', ')}): rerun \`npm run bench\` for ratios from one run`;
  return [
    '## Targets (issue 4, "Done means")',
    '',
    `Ratios ${from}. chainrule runs with its defaults (its own thread count).`,
    '',
    '| target | measured | goal | met |',
    '| --- | ---: | ---: | :---: |',
    ...rows,
  ].join('\n');
}

function mnistSection(current: string): string | undefined {
  const match = current.match(/## MNIST end to end[\s\S]*?(?=\n## |$)/);
  if (!match) return undefined;
  const json = existsSync(join(RESULTS, 'mnist.json'))
    ? JSON.parse(readFileSync(join(RESULTS, 'mnist.json'), 'utf8'))
    : undefined;
  const stamp = json?.date
    ? `\n\nRun ${json.date} by \`bench/mnist.ts\` (\`npm run bench\` runs it for the README's default model, the MLP; \`npm run bench:mnist\` for both).`
    : '';
  return match[0].trimEnd() + stamp;
}

function writeReport(): void {
  const files: Record<string, SuiteFile | undefined> = Object.fromEntries(
    FAMILIES.map((f) => [f.suite, readSuite(f.suite)]),
  );
  const current = existsSync('BENCHMARKS.md') ? readFileSync('BENCHMARKS.md', 'utf8') : '';
  // PyTorch's BLAS note is said once, with its version, not in every section.
  const blas = Object.values(files)
    .flatMap((f) => f?.results ?? [])
    .find((r) => r.framework.startsWith('torch-') && r.note)?.note;
  const sections = FAMILIES.filter((f) => files[f.suite]).map((f) =>
    suiteSection(
      files[f.suite]!,
      f.suite === 'matmul' ? ceilingsOf(files.ceiling) : undefined,
      blas ? [blas] : [],
    ),
  );
  const dates = Object.values(files)
    .filter((f): f is SuiteFile => !!f)
    .map((f) => f.date);
  const mnist = mnistSection(current);
  const text = [
    '# Benchmarks',
    '',
    `Written by \`${command}\` (bench/run.ts): chainrule and its peers on the same work, each framework in a fresh child process, in one run on one machine. Every number below was measured by the run its section names; bench/results/*.json has the samples.`,
    '',
    `- Machine: ${machine}; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')} when this file was written.`,
    ...versions.map((v) => `- ${v}${blas && v.startsWith('PyTorch ') ? `; ${blas}` : ''}`),
    '',
    targetsSection(targets(files), dates),
    '',
    ...sections.flatMap((s) => [s]),
    ...(mnist ? [mnist, ''] : []),
  ].join('\n');
  writeFileSync('BENCHMARKS.md', text.trimEnd() + '\n');
  writeFileSync(
    join(RESULTS, 'targets.json'),
    JSON.stringify({ date: new Date().toISOString(), machine, targets: targets(files) }, null, 2) +
      '\n',
  );
}

// ---------------------------------------------------------------- main

async function main() {
  mkdirSync(RESULTS, { recursive: true });
  const date = new Date().toISOString();
  const dataFolder = mkdtempSync(join(tmpdir(), 'chainrule-bench-'));
  try {
    if (torch) {
      for (const batch of [128, 1000])
        writeSetup(join(dataFolder, `mlp-${batch}`), mlpSetup(batch));
      writeSetup(join(dataFolder, 'cnn-64'), cnnSetup(64));
      writeSetup(join(dataFolder, 'chain'), chainSetup(CHAIN_SIZE));
    }
    const plan = FAMILIES.filter((f) => wantSuite(f.suite)).map((f) => ({
      family: f,
      frameworks: f.frameworks.filter(
        (fw) =>
          wantFramework(fw) &&
          (torch || !fw.startsWith('torch-')) &&
          !(quick && f.slowInQuick?.includes(fw)),
      ),
    }));
    const runs = ({ family, frameworks }: (typeof plan)[number]) =>
      frameworks.length +
      (quick
        ? 0
        : ((family.rounds ?? 1) - 1) * frameworks.filter((f) => inLaterRounds(family, f)).length);
    const total = plan.reduce((n, p) => n + runs(p), 0) + (wantSuite('mnist') ? 1 : 0);
    let done = 0;
    const begin = performance.now();
    for (const { family, frameworks } of plan) {
      if (frameworks.length === 0) continue;
      const rounds = new Map<string, FrameworkResult[]>(frameworks.map((f) => [f, []]));
      const count = quick ? 1 : (family.rounds ?? 1);
      for (let round = 0; round < count; round++) {
        const inRound =
          round === 0 ? frameworks : frameworks.filter((f) => inLaterRounds(family, f));
        for (const framework of round % 2 === 0 ? inRound : [...inRound].reverse()) {
          const repeated = count > 1 && inLaterRounds(family, framework);
          const which = repeated ? ` (round ${round + 1} of ${count})` : '';
          process.stderr.write(`[${++done}/${total}] ${family.suite} · ${framework}${which} … `);
          const start = performance.now();
          const result = await runPair(family.suite, framework, dataFolder);
          rounds.get(framework)!.push(result);
          const brief = result.cases
            .map((c) =>
              c.summary
                ? `${c.name} ${c.summary.median.toPrecision(3)} ${c.unit}`
                : `${c.name} ${c.status}`,
            )
            .join(', ');
          process.stderr.write(
            `${((performance.now() - start) / 1000).toFixed(1)} s  (${brief})\n`,
          );
        }
      }
      const results = frameworks.map((f) => pooled(rounds.get(f)!));
      // A run of some frameworks (--only) keeps the other frameworks' rows from the previous run of the family.
      const previous = onlyFrameworks.length
        ? (readSuite(family.suite)?.results.filter((r) => !frameworks.includes(r.framework)) ?? [])
        : [];
      const order = (r: FrameworkResult) => family.frameworks.indexOf(r.framework);
      const file: SuiteFile = {
        suite: family.suite,
        title: family.title,
        description: family.description,
        higherIsBetter: family.higherIsBetter,
        date,
        command,
        quick,
        machine,
        results: [...previous, ...results].sort((a, b) => order(a) - order(b)),
      };
      writeFileSync(join(RESULTS, `${family.suite}.json`), JSON.stringify(file, null, 2) + '\n');
    }
    if (!torch) process.stderr.write(`PyTorch not found (${PYTHON} has no torch): skipped\n`);
    if (wantSuite('mnist')) {
      process.stderr.write(
        `[${++done}/${total}] mnist · bench/mnist.ts --models mlp (chainrule and PyTorch) …\n`,
      );
      const result = await runChild(
        process.execPath,
        ['--import', 'tsx', 'bench/mnist.ts', '--models', 'mlp'],
        1800,
      );
      process.stderr.write(
        result.code === 0
          ? result.stdout
          : `  bench/mnist.ts failed: ${result.timedOut ? 'timed out' : result.stderr.trim().split('\n').slice(-3).join(' ')}\n`,
      );
    }
    writeReport();
    process.stderr.write(
      `wrote BENCHMARKS.md and ${RESULTS}/*.json in ${((performance.now() - begin) / 60000).toFixed(1)} min\n`,
    );
  } finally {
    rmSync(dataFolder, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
