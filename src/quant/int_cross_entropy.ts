/**
 * The integer gradient of softmax cross-entropy (NITI's integer loss): from int8 logits q with
 * scale 2^s, the error (softmax − one-hot) in int8 at scale 2^−7, with softmax computed from an
 * integer table of e^(−t/16). The table is the one place a float function is evaluated: once, when
 * this module loads, to fill 257 integers; training itself only indexes it.
 */
import { alignExponent, QMAX, type QTensor } from './int_arith.js';

/** e^(−t/16) in Q15 for t = 0 … 256 (down to e^(−16), where it rounds to 0). */
const EXP_TABLE = Int32Array.from({ length: 257 }, (_, t) => Math.round(32768 * Math.exp(-t / 16)));
const TABLE_MAX = EXP_TABLE.length - 1;

/**
 * The error of the logits [N, classes] for integer class labels, in int8 at exponent −7
 * (128·(p − onehot), clamped to ±127), and the number of rows whose largest logit is the label.
 */
export function crossEntropyErrorInt(
  logits: QTensor,
  labels: Int32Array,
): { error: QTensor; correct: number } {
  const [n, classes] = logits.shape;
  if (labels.length !== n)
    throw new Error(`crossEntropyErrorInt: ${n} rows of logits but ${labels.length} labels`);
  const q = logits.data;
  const out = new Int8Array(n * classes);
  const num = new Int32Array(classes);
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const row = i * classes;
    let max = q[row];
    let arg = 0;
    for (let j = 1; j < classes; j++)
      if (q[row + j] > max) {
        max = q[row + j];
        arg = j;
      }
    if (arg === labels[i]) correct++;
    let sum = 0;
    for (let j = 0; j < classes; j++) {
      // (max − q)·2^s in units of 1/16
      const t = alignExponent(max - q[row + j], logits.exp, -4);
      num[j] = EXP_TABLE[t > TABLE_MAX ? TABLE_MAX : t];
      sum += num[j];
    }
    for (let j = 0; j < classes; j++) {
      // p in units of 1/128, rounded to nearest: an integer division of integers.
      const p = Math.trunc((num[j] * 128 + (sum >> 1)) / sum);
      const e = p - (j === labels[i] ? 128 : 0);
      out[row + j] = e > QMAX ? QMAX : e < -QMAX ? -QMAX : e;
    }
  }
  return { error: { data: out, shape: [n, classes], exp: -7 }, correct };
}
