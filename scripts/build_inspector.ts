/**
 * Builds the inspector page (`chainrule inspect`): src/web/inspector/page.ts bundled with esbuild
 * for the browser as one classic script (IIFE: it also runs from file://, where module scripts
 * are refused), beside its index.html. `npm run build` writes it to dist/inspector/; the browser
 * test builds it into a temporary folder.
 * Usage: tsx scripts/build_inspector.ts [outDir]
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Writes index.html and inspector.js into `outDir`; returns their paths. */
export async function buildInspector(outDir: string): Promise<string[]> {
  mkdirSync(outDir, { recursive: true });
  const script = join(outDir, 'inspector.js');
  const result = await build({
    entryPoints: [join(root, 'src/web/inspector/page.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    outfile: script,
    logLevel: 'silent',
  });
  if (result.warnings.length > 0)
    throw new Error(`build_inspector: ${result.warnings.map((w) => w.text).join('; ')}`);
  const html = join(outDir, 'index.html');
  copyFileSync(join(root, 'src/web/inspector/index.html'), html);
  return [html, script];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(process.argv[2] ?? join(root, 'dist/inspector'));
  const files = await buildInspector(out);
  process.stdout.write(`inspector page: ${files.join(', ')}\n`);
}
