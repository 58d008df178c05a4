/** Runs the chainrule command in-process for the CLI tests and returns what it printed. */
import { vi } from 'vitest';

/**
 * Runs `chainrule ...args` with stdout captured and stderr silenced; returns what it printed to
 * stdout. Parse errors of the program and its subcommands throw (exitOverride) instead of ending
 * the process, so `await expect(runCli([...])).rejects.toThrow(...)` works for them too.
 * @param stderr when given, receives what the command wrote to stderr.
 */
export async function runCli(args: string[], stderr?: string[]): Promise<string> {
  // Imported when first run so that test files load the CLI (and its models) only if they use it.
  const { createProgram } = await import('../../src/cli/main.js');
  const out: string[] = [];
  const stdoutSpy = vi
    .spyOn(process.stdout, 'write')
    .mockImplementation((s) => (out.push(String(s)), true));
  const stderrSpy = vi
    .spyOn(process.stderr, 'write')
    .mockImplementation((s) => (stderr?.push(String(s)), true));
  try {
    const program = createProgram();
    for (const command of [program, ...program.commands]) command.exitOverride();
    await program.parseAsync(['node', 'chainrule', ...args]);
  } finally {
    stdoutSpy.mockRestore();
    stderrSpy.mockRestore();
  }
  return out.join('');
}
