/**
 * Writes every model of the ONNX tests (test/helpers/onnx_cases.ts) to <dir>/<name>.onnx, for
 * scripts/onnx_check.py:   npx tsx scripts/onnx_export_cases.ts /tmp/onnx && /usr/bin/python3 scripts/onnx_check.py /tmp/onnx
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { onnx } from '../src/node.js';
import { onnxCases } from '../test/helpers/onnx_cases.js';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: tsx scripts/onnx_export_cases.ts <dir>');
  process.exit(2);
}
mkdirSync(dir, { recursive: true });
for (const c of onnxCases()) {
  onnx.export(c.model, c.inputs, join(dir, `${c.name}.onnx`), { dynamicAxes: { input_0: [0] } });
}
console.log(`wrote ${onnxCases().length} models to ${dir}`);
