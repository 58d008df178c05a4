// The command as npm installs it: node_modules/.bin/chainrule (and npx) is a symlink to
// dist/cli/main.js, so the CLI must run when node is started through a link to it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'chainrule-bin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the chainrule command', () => {
  it('prints its help when started through a bin symlink', () => {
    const link = join(dir, 'chainrule');
    symlinkSync(resolve('src/cli/main.ts'), link);
    const out = execFileSync(process.execPath, ['--import', 'tsx', link, '--help'], {
      encoding: 'utf8',
    });
    expect(out).toContain('Usage: chainrule');
    expect(out).toContain('train [options] <dataset>');
  });
});
