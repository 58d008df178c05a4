/**
 * Pre-builds the inspector page of `chainrule inspect` (run by `npm run build` after tsc), so that
 * an installed chainrule serves it without esbuild.
 * Usage: tsx scripts/build_inspector.ts [outDir]   (default dist/inspector)
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildInspectorPage } from '../src/cli/inspect_command.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(process.argv[2] ?? join(root, 'dist/inspector'));
const files = await buildInspectorPage(out);
process.stdout.write(`inspector page: ${files.join(', ')}\n`);
