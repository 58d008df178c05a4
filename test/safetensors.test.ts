import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nn, randn, safetensors, tensor } from '../src/node.js';
import { expectAllClose, expectBitEqual } from './helpers/close.js';
import { safetensorsFixtureState } from './helpers/safetensors_state.js';

const FIXTURES = new URL('./fixtures/safetensors/', import.meta.url).pathname;
const fixture = (name: string) => new Uint8Array(readFileSync(join(FIXTURES, name)));
const dir = mkdtempSync(join(tmpdir(), 'chainrule-safetensors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DTYPE_READ_AS: Record<string, string> = {
  F32: 'float32',
  F64: 'float64',
  F16: 'float32',
  BF16: 'float32',
  I32: 'int32',
  I64: 'int32',
  BOOL: 'bool',
};

describe('safetensors: files Python writes', () => {
  const expected = JSON.parse(readFileSync(join(FIXTURES, 'python_written.json'), 'utf8')) as {
    metadata: Record<string, string>;
    tensors: Record<
      string,
      { dtype: string; shape: number[]; values: (number | boolean | string)[] }
    >;
  };
  const state = safetensors.load(join(FIXTURES, 'python_written.safetensors'));

  it('holds every tensor, with its shape, dtype (converted as documented) and exact values', () => {
    expect(Object.keys(state).sort()).toEqual(Object.keys(expected.tensors).sort());
    for (const [name, e] of Object.entries(expected.tensors)) {
      const t = state[name];
      expect([name, t.dtype, t.shape]).toEqual([name, DTYPE_READ_AS[e.dtype], e.shape]);
      const special: Record<string, number> = { inf: Infinity, '-inf': -Infinity, nan: NaN };
      const want = e.values.map((v) => (typeof v === 'string' ? special[v] : Number(v)));
      expectBitEqual(t.dtype === 'bool' ? Array.from(t.dataSync()) : t, want);
    }
  });

  it('covers every dtype, a 0-d tensor, an empty tensor and metadata', () => {
    const dtypes = new Set(Object.values(expected.tensors).map((e) => e.dtype));
    expect([...dtypes].sort()).toEqual(['BF16', 'BOOL', 'F16', 'F32', 'F64', 'I32', 'I64']);
    expect(state.scalar.shape).toEqual([]);
    expect(state.empty.shape).toEqual([0, 4]);
    expect(safetensors.loadMetadata(join(FIXTURES, 'python_written.safetensors'))).toEqual(
      expected.metadata,
    );
  });
});

describe('safetensors: files chainrule writes', () => {
  it('writes exactly the committed file that Python loads (scripts/fixtures/safetensors.py)', () => {
    const bytes = safetensors.serialize(safetensorsFixtureState(), { written_by: 'chainrule' });
    expectBitEqual(bytes, fixture('chainrule_written.safetensors'));
  });

  it('lays out the header as the specification and Python do (padded to 8, widest first)', () => {
    const bytes = safetensors.serialize({
      b: tensor([1, 2], { dtype: 'int32' }),
      a: tensor([1], { dtype: 'float64' }),
    });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header).toEqual({
      a: { dtype: 'F64', shape: [1], data_offsets: [0, 8] },
      b: { dtype: 'I32', shape: [2], data_offsets: [8, 16] },
    });
  });

  it('round-trips a module state dict through a file, views and all', () => {
    const model = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4));
    const state = model.stateDict();
    state.transposed = randn([3, 5]).t();
    const path = join(dir, 'model.safetensors');
    safetensors.save(state, path, { format: 'pt' });
    const back = safetensors.load(path);
    expect(Object.keys(back).sort()).toEqual(Object.keys(state).sort());
    for (const [k, v] of Object.entries(state)) {
      expect([k, back[k].dtype, back[k].shape]).toEqual([k, v.dtype, v.shape]);
      expectAllClose(back[k], v, { rtol: 0, atol: 0 });
    }
    const fresh = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4));
    delete back.transposed;
    fresh.loadStateDict(back);
    expect(safetensors.loadMetadata(path)).toEqual({ format: 'pt' });
  });

  it('refuses bad input to serialize', () => {
    expect(() => safetensors.serialize({ __metadata__: tensor([1]) })).toThrow(/reserved/);
    expect(() => safetensors.serialize({ a: [1, 2] as never })).toThrow(
      /'a' is object, not a Tensor/,
    );
    expect(() => safetensors.load(join(dir, 'missing.safetensors'))).toThrow(
      /cannot read .*missing/,
    );
  });
});

describe('safetensors: the malformed-file corpus', () => {
  const index = JSON.parse(
    readFileSync(join(FIXTURES, 'malformed', 'index.json'), 'utf8'),
  ) as Record<string, string>;
  it('has a reason for every file', () => {
    const files = readdirSync(join(FIXTURES, 'malformed')).filter((f) =>
      f.endsWith('.safetensors'),
    );
    expect(files.sort()).toEqual(Object.keys(index).sort());
  });
  it.each(Object.entries(index))('refuses %s with a clear error (%s)', (name, reason) => {
    expect(() => safetensors.deserialize(fixture(`malformed/${name}`), name)).toThrow(
      new RegExp(
        `^safetensors\\.deserialize: ${name.replace('.', '\\.')}: .*${reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
      ),
    );
  });
});
