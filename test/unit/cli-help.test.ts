import { describe, expect, it } from 'vitest';
import { buildProgram, type CliIo, main } from '../../bin/commands/program.js';

const capture = () => {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { env: {}, out: (l) => out.push(l), err: (l) => err.push(l) };
  return { io, out, err };
};

const commandNames = (() => {
  const { io } = capture();
  const program = buildProgram(io, async () => undefined);
  return program.commands.flatMap((c) => [
    [c.name()],
    ...c.commands.filter((s) => s.name() !== 'help').map((s) => [c.name(), s.name()]),
  ]);
})();

describe('CLI: commander surface', () => {
  it('has the commands of the issue, each reachable', () => {
    expect(commandNames.map((n) => n.join(' '))).toEqual(
      expect.arrayContaining([
        'status',
        'redrive',
        'replay',
        'listen',
        'send',
        'reconcile',
        'rotate',
        'event-types',
        'parked',
        'parked list',
        'parked republish',
        'backfill',
        'archive status',
        'archive retry',
      ]),
    );
  });

  it.each(commandNames.map((n) => [n.join(' '), n]))('`%s --help` prints its usage and exits 0', async (_, name) => {
    const { io, out } = capture();
    expect(await main([...(name as string[]), '--help'], io)).toBe(0);
    expect(out.join('\n')).toMatch(new RegExp(`^Usage: heygen-relay ${(name as string[]).join(' ')}`));
    expect(out.join('\n')).toMatch(/--help/);
  });

  it('explains a usage error in one line and a hint, exit 64', async () => {
    const { io, err } = capture();
    expect(await main(['reconcile', '--bogus'], io)).toBe(64);
    expect(err).toEqual(["error: unknown option '--bogus' (see heygen-relay reconcile --help)"]);
    const other = capture();
    expect(await main(['frobnicate'], other.io)).toBe(64);
    expect(other.err).toEqual(["error: unknown command 'frobnicate' (see heygen-relay --help)"]);
  });

  it('documents the exit codes in the top-level help; no command prints it and exits 64', async () => {
    const { io, out, err } = capture();
    expect(await main(['--help'], io)).toBe(0);
    expect(out.join('\n')).toMatch(/Exit codes:[\s\S]*64 +usage[\s\S]*75 +busy/);
    expect(await main([], io)).toBe(64);
    expect(err.join('\n')).toMatch(/Usage: heygen-relay <command>/);
  });

  it('keeps exit 2 for a missing HeyGen API key', async () => {
    const { io } = capture();
    expect(await main(['backfill', '--dedup-table', 't'], io)).toBe(2); // no key: exit 2 in every command
    expect(await main(['reconcile', '--endpoint-url', 'https://x.example/heygen', '--dry-run'], io)).toBe(2);
  });
});
