/**
 * Checkpoint loads that are all or nothing, tensors whose bytes must match their shape and dtype,
 * and writes that clean up after killed ones (issue 17).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as fs from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { Generator, manualSeed, nn, optim } from '../src/index.js';
import { loadCheckpoint, readCheckpoint, saveCheckpoint } from '../src/node.js';
import { crc32 } from '../src/train/checkpoint.js';
import { expectBitEqual } from './helpers/close.js';

// The real functions, watched: which paths were opened and which descriptors flushed.
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  return { ...real, openSync: vi.fn(real.openSync), fsyncSync: vi.fn(real.fsyncSync) };
});

const folder = () => mkdtempSync(join(tmpdir(), 'chainrule-ckpt-'));

function model(seed: number) {
  manualSeed(seed);
  return new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU(), new nn.Linear(4, 2));
}

/** Rewrites a checkpoint's payload with `edit` and a matching checksum (a hand edit, not corruption). */
function rewrite(path: string, edit: (payload: Record<string, any>) => void): void {
  const envelope = JSON.parse(readFileSync(path, 'utf8'));
  const payload = JSON.parse(envelope.payload);
  edit(payload);
  envelope.payload = JSON.stringify(payload);
  envelope.crc32 = crc32(envelope.payload);
  writeFileSync(path, JSON.stringify(envelope));
}

describe('checkpoint loads are all or nothing', () => {
  it('a load whose optimizer part does not match leaves the model as it was', () => {
    const dir = folder();
    const path = join(dir, 'a.ckpt');
    const saved = model(1);
    saveCheckpoint(path, {
      model: saved,
      optimizer: new optim.SGD(saved.parameters(), { lr: 0.1 }),
    });
    const target = model(2);
    const before = target.parameters().map((p) => p.dataSync().slice());
    // Two parameter groups against the file's one: the optimizer part cannot load.
    const [w, ...rest] = target.parameters();
    const optimizer = new optim.SGD([{ params: [w] }, { params: rest }], { lr: 0.1 });
    expect(() => loadCheckpoint(path, { model: target, optimizer })).toThrow(/parameter groups/);
    target.parameters().forEach((p, i) => expectBitEqual(p.dataSync(), before[i]));
  });

  it('a missing part or generator is reported before anything is assigned', () => {
    const dir = folder();
    const path = join(dir, 'b.ckpt');
    saveCheckpoint(path, { model: model(1) });
    const target = model(2);
    const before = target.parameters().map((p) => p.dataSync().slice());
    const generator = new Generator(5);
    const state = generator.getState();
    expect(() =>
      loadCheckpoint(path, { model: target, generators: { loader: generator } }),
    ).toThrow(/has no generators state/);
    target.parameters().forEach((p, i) => expectBitEqual(p.dataSync(), before[i]));
    expect(generator.getState()).toEqual(state);
  });

  it('a bad generator state puts back the model and the optimizer already loaded', () => {
    const dir = folder();
    const path = join(dir, 'c.ckpt');
    const saved = model(1);
    saveCheckpoint(path, {
      model: saved,
      optimizer: new optim.Adam(saved.parameters()),
      generators: { loader: new Generator(3) },
    });
    rewrite(path, (p) => (p.generators.loader = { seed: 3 }));
    const target = model(2);
    const optimizer = new optim.Adam(target.parameters(), { lr: 0.5 });
    const before = target.parameters().map((p) => p.dataSync().slice());
    expect(() =>
      loadCheckpoint(path, { model: target, optimizer, generators: { loader: new Generator(0) } }),
    ).toThrow(/generator 'loader'.*words must be 4 unsigned 32-bit integers, got undefined/);
    target.parameters().forEach((p, i) => expectBitEqual(p.dataSync(), before[i]));
    expect(optimizer.paramGroups[0].lr).toBe(0.5);
  });
});

describe('checkpoint tensors are checked against their shape and dtype', () => {
  const saveOne = () => {
    const dir = folder();
    const path = join(dir, 'm.ckpt');
    saveCheckpoint(path, { model: model(1) });
    return path;
  };

  it('short data names the file and the tensor', () => {
    const path = saveOne();
    rewrite(path, (p) => (p.model['0.weight'].data = p.model['0.weight'].data.slice(0, 8)));
    expect(() => readCheckpoint(path)).toThrow(
      /m\.ckpt: tensor 'model \/ 0\.weight': its data is 6 bytes, but a float32 tensor of shape \[4, 3\] takes 48/,
    );
  });

  it('a dtype changed by hand', () => {
    const path = saveOne();
    rewrite(path, (p) => (p.model['0.bias'].dtype = 'float64'));
    expect(() => readCheckpoint(path)).toThrow(
      /tensor 'model \/ 0\.bias': its data is 16 bytes, but a float64 tensor of shape \[4\] takes 32/,
    );
  });

  it('bad base64 and odd byte lengths', () => {
    const path = saveOne();
    rewrite(path, (p) => (p.model['2.bias'].data = 'not base64!'));
    expect(() => readCheckpoint(path)).toThrow(/tensor 'model \/ 2\.bias': its data is not base64/);
    rewrite(path, (p) => (p.model['2.bias'].data = btoa('abc')));
    expect(() => readCheckpoint(path)).toThrow(
      /its data is 3 bytes, but a float32 tensor of shape \[2\] takes 8/,
    );
  });
});

describe('checkpoint writes', () => {
  it('remove temporary files that killed writes of the same file left, and only those', () => {
    const dir = folder();
    const path = join(dir, 'run.ckpt');
    // A process that has exited: its pid is free (or reused by another program, not a writer).
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], {
      encoding: 'utf8',
    });
    const deadPid = Number(dead.stdout.trim());
    const stale = join(dir, `.run.ckpt.${deadPid}.1700000000000.tmp`);
    const other = join(dir, `.other.ckpt.${deadPid}.1700000000000.tmp`);
    const live = join(dir, `.run.ckpt.${process.ppid}.1700000000000.tmp`);
    for (const f of [stale, other, live]) writeFileSync(f, 'x'.repeat(1000));
    saveCheckpoint(path, { model: model(1) });
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(other)).toBe(true); // another target's
    expect(existsSync(live)).toBe(true); // a running process's write
    expect(readdirSync(dir).sort()).toEqual(
      [
        '.other.ckpt.' + deadPid + '.1700000000000.tmp',
        '.run.ckpt.' + process.ppid + '.1700000000000.tmp',
        'run.ckpt',
      ].sort(),
    );
  });

  it('flush the folder after the rename', () => {
    const dir = folder();
    const openSync = vi.mocked(fs.openSync);
    const fsyncSync = vi.mocked(fs.fsyncSync);
    openSync.mockClear();
    fsyncSync.mockClear();
    saveCheckpoint(join(dir, 'f.ckpt'), { model: model(1) });
    const opened = openSync.mock.calls.map((call, i) => [call[0], openSync.mock.results[i].value]);
    const folderFd = opened.find(([path]) => path === dir)?.[1];
    expect(folderFd).toBeTypeOf('number');
    expect(fsyncSync.mock.calls.map((call) => call[0])).toContain(folderFd);
    // The folder is flushed last, after the file's own data.
    expect(fsyncSync.mock.calls.at(-1)![0]).toBe(folderFd);
  });
});
