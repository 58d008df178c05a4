/** BENCHMARKS.md from the results of a run: one table per benchmark family, ratios, targets. */
import type { CaseResult, FrameworkResult } from './protocol.js';

export interface SuiteFile {
  suite: string;
  title: string;
  description: string;
  /** 'GFLOP/s' families are higher-is-better; the others report time. */
  higherIsBetter: boolean;
  date: string;
  command: string;
  quick: boolean;
  machine: string;
  results: FrameworkResult[];
}

const isChainrule = (r: FrameworkResult) => r.framework === 'chainrule';

function format(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(2);
}

function ratio(value: number): string {
  return value >= 10 ? `${value.toFixed(0)}×` : `${value.toFixed(2)}×`;
}

/** Collects footnotes for cells that are not measurements. */
class Notes {
  readonly lines: string[] = [];
  add(text: string): string {
    let i = this.lines.indexOf(text);
    if (i < 0) i = this.lines.push(text) - 1;
    return `[${i + 1}]`;
  }
}

function cell(c: CaseResult | undefined, label: string, notes: Notes): string {
  if (!c) return '';
  if (c.status === 'ok' && c.summary) {
    const s = c.summary;
    return s.n > 1
      ? `${format(s.median)} (${format(s.min)}–${format(s.max)})`
      : `${format(s.median)} (n=1)`;
  }
  const word =
    c.status === 'unsupported' ? 'not supported' : c.status === 'skipped' ? 'skipped' : 'failed';
  return `${word} ${notes.add(`${label}, ${c.name}: ${word}: ${c.note ?? ''}`)}`;
}

export function caseNames(results: FrameworkResult[]): string[] {
  const names: string[] = [];
  for (const r of results) for (const c of r.cases) if (!names.includes(c.name)) names.push(c.name);
  return names;
}

export function median(
  results: FrameworkResult[],
  framework: string,
  name: string,
): number | undefined {
  const c = results.find((r) => r.framework === framework)?.cases.find((k) => k.name === name);
  return c?.status === 'ok' ? c.summary?.median : undefined;
}

/** How many times faster chainrule is than `other` (>1: chainrule is faster). */
export function speedup(
  higherIsBetter: boolean,
  chainrule: number | undefined,
  other: number | undefined,
): number | undefined {
  if (chainrule === undefined || other === undefined) return undefined;
  return higherIsBetter ? chainrule / other : other / chainrule;
}

function guardLine(file: SuiteFile): string {
  const rows = file.results.flatMap((r) =>
    r.cases.filter((c) => c.losses?.length).map((c) => ({ r, c })),
  );
  if (rows.length === 0) return '';
  const lines: string[] = [];
  for (const name of caseNames(file.results)) {
    const group = rows.filter((x) => x.c.name === name);
    if (group.length === 0) continue;
    const first = group.map((x) => x.c.losses![0]);
    const spread = (Math.max(...first) - Math.min(...first)) / Math.abs(Math.min(...first));
    const agree =
      spread < 1e-3
        ? `all start from the same loss (largest relative difference ${spread.toExponential(1)})`
        : `⚠ initial losses differ by ${(spread * 100).toFixed(2)}%: a setup differs`;
    const failed = group.filter((x) => x.c.status === 'error').map((x) => x.r.label);
    lines.push(
      `- ${name}: ${agree}; ${group.map((x) => `${x.r.label} ${x.c.losses!.map((l) => l.toFixed(4)).join(' → ')}`).join('; ')}` +
        (failed.length ? `. ⚠ guard failed: ${failed.join(', ')}` : ''),
    );
  }
  return `Correctness guard (before timing, the same batch and initial weights in every framework; loss over the first SGD steps, which must be finite and decreasing):\n\n${lines.join('\n')}\n`;
}

export interface Ceilings {
  label: string;
  values: { name: string; gflops: number; threads: number }[];
}

/** How the samples of frameworks run in several child processes were pooled, with each one's median. */
function roundsLine(file: SuiteFile): string | undefined {
  const cases = file.results.flatMap((r) =>
    r.cases.filter((c) => (c.roundMedians?.length ?? 0) > 1).map((c) => ({ r, c })),
  );
  if (cases.length === 0) return undefined;
  const count = Math.max(...cases.map(({ c }) => c.roundMedians!.length));
  const ranOnce = file.results.some((r) => !cases.some((x) => x.r === r));
  const pooled = cases.map(
    ({ r, c }) => `${r.label} ${c.name}: ${c.roundMedians!.map(format).join(', ')} ${c.unit}`,
  );
  return `These frameworks ran in ${count} child processes each, in rounds of opposite order (every framework, then again in reverse), so that each is timed both early and late in the family's minutes on this shared machine; their medians above are of the rounds' samples pooled.${ranOnce ? ' (The others, which take seconds per step or failed, ran once.)' : ''} The median of each round: ${pooled.join('; ')}.`;
}

/** `sharedNotes`: framework notes already given once at the top of the file. */
export function suiteSection(
  file: SuiteFile,
  ceilings?: Ceilings,
  sharedNotes: string[] = [],
): string {
  const notes = new Notes();
  const names = caseNames(file.results);
  const unitOf = (name: string) =>
    file.results.flatMap((r) => r.cases).find((c) => c.name === name && c.unit)?.unit ?? '';
  const units = [...new Set(names.map(unitOf))];
  const headers = units.length > 1 ? names.map((n) => `${n} (${unitOf(n)})`) : names;
  const better = file.higherIsBetter ? 'higher is better' : 'lower is better';
  const out: string[] = [`## ${file.title}`, '', file.description, ''];
  out.push(
    `Median (min–max) in ${units.length > 1 ? 'the unit of each column' : units[0]}, ${better}. ${file.quick ? '**Quick run (`--quick`): few repeats, indicative only.** ' : ''}Run ${file.date}, \`${file.command}\`.`,
    '',
  );
  out.push(
    `| framework | ${headers.join(' | ')} |`,
    `| --- | ${names.map(() => '---:').join(' | ')} |`,
  );
  for (const r of file.results)
    out.push(
      `| ${r.label} | ${names
        .map((n) =>
          cell(
            r.cases.find((c) => c.name === n),
            r.label,
            notes,
          ),
        )
        .join(' | ')} |`,
    );
  const chainrule = file.results.find(isChainrule);
  if (chainrule && file.suite !== 'ceiling') {
    const rows: string[] = [];
    for (const r of file.results) {
      if (r.framework.startsWith('chainrule')) continue;
      const values = names.map((n) =>
        speedup(
          file.higherIsBetter,
          median(file.results, 'chainrule', n),
          median(file.results, r.framework, n),
        ),
      );
      if (values.some((v) => v !== undefined))
        rows.push(
          `| vs ${r.label} | ${values.map((v) => (v === undefined ? '–' : ratio(v))).join(' | ')} |`,
        );
    }
    for (const c of ceilings?.values ?? []) {
      // Against the ceiling on as many threads: chainrule pinned to 1 thread, or as it comes.
      const run = file.results.find((r) =>
        c.threads === 1
          ? r.framework === 'chainrule-1'
          : r.framework === 'chainrule' && r.threads === c.threads,
      );
      if (!run) continue;
      const values = names.map((n) => median(file.results, run.framework, n));
      rows.push(
        `| on ${c.threads} thread${c.threads > 1 ? 's' : ''}, share of the ${c.name} ceiling (${format(c.gflops)} GFLOP/s) | ${values.map((v) => (v === undefined ? '–' : `${((v / c.gflops) * 100).toFixed(0)}%`)).join(' | ')} |`,
      );
    }
    if (rows.length) {
      out.push(
        '',
        `chainrule's speed-up over each peer (${file.higherIsBetter ? "chainrule's GFLOP/s ÷ the peer's" : "the peer's time ÷ chainrule's"}; above 1× chainrule is faster)${ceilings ? ', and its share of the WebAssembly ceilings measured in this run' : ''}:`,
        '',
      );
      out.push(
        `| chainrule | ${headers.join(' | ')} |`,
        `| --- | ${names.map(() => '---:').join(' | ')} |`,
        ...rows,
      );
    }
  }
  const rounds = roundsLine(file);
  if (rounds) out.push('', rounds);
  const guard = guardLine(file);
  if (guard) out.push('', guard.trimEnd());
  const byNote = new Map<string, string[]>();
  for (const r of file.results)
    if (r.note && !sharedNotes.includes(r.note))
      byNote.set(r.note, [...(byNote.get(r.note) ?? []), r.label]);
  const frameworkNotes = [...byNote].map(([note, labels]) => `${labels.join(', ')}: ${note}`);
  if (notes.lines.length || frameworkNotes.length)
    out.push(
      '',
      ...notes.lines.map((l, i) => `[${i + 1}] ${l}  `),
      ...frameworkNotes.map((l) => `${l}  `),
    );
  return out.join('\n').trimEnd() + '\n';
}
