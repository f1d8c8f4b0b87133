/** The sans-IO parsers: shell words (as sh splits them, for the browser terminal) and the command table's Docker-style flags. */
import { describe, expect, it } from 'vitest';
import { helpText, hostOnlyFlags, parseFlags, UsageError, type CommandSpec } from '../../src/cli/commands/flags.ts';
import { joinWords, splitWords } from '../../src/web/shell/words.ts';

describe('splitWords', () => {
  it.each([
    ['echo hello', ['echo', 'hello']],
    ['  a   b\tc  ', ['a', 'b', 'c']],
    [`sh -c 'echo $HOME; ls'`, ['sh', '-c', 'echo $HOME; ls']],
    [`echo "a \\"quoted\\" \\$x" b`, ['echo', 'a "quoted" $x', 'b']],
    [`echo "keep \\n as is"`, ['echo', 'keep \\n as is']],
    [`a\\ b c`, ['a b', 'c']],
    [`x'y'"z" ''`, ['xyz', '']],
    ['', []],
  ])('%s', (text, words) => {
    expect(splitWords(text)).toEqual(words);
  });

  it('rejects unterminated quotes, naming them', () => {
    expect(() => splitWords(`echo 'oops`)).toThrow(/unterminated single quote at column 6/);
    expect(() => splitWords(`echo "oops`)).toThrow(/unterminated double quote/);
  });

  it('joinWords quotes only what needs it and round-trips', () => {
    const words = ['sh', '-c', "it's a test", '', 'plain/path.txt', 'K=V'];
    expect(joinWords(words)).toBe(`sh -c 'it'\\''s a test' '' plain/path.txt K=V`);
    expect(splitWords(joinWords(words))).toEqual(words);
  });
});

const run: CommandSpec = {
  name: 'run', usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]', summary: 'Run', minArgs: 1, stopAtPositional: true,
  flags: [
    { name: 'env', short: 'e', value: true, repeat: true, help: 'env' },
    { name: 'interactive', short: 'i', help: 'i' },
    { name: 'tty', short: 't', help: 't' },
    { name: 'rm', help: 'rm' },
    { name: 'name', value: true, help: 'name' },
  ],
};

describe('parseFlags', () => {
  it('Docker flag forms; flags stop at the image so the command keeps its own', () => {
    const r = parseFlags(run, ['-it', '--rm', '-e', 'A=1', '-eB=2', '--env=C=3', '--name', 'x', 'busybox', 'ls', '-l', '--rm']);
    expect(r.flags).toEqual({ interactive: true, tty: true, rm: true, env: ['A=1', 'B=2', 'C=3'], name: 'x' });
    expect(r.args).toEqual(['busybox', 'ls', '-l', '--rm']);
  });

  it('-- ends flags; --help is noticed', () => {
    expect(parseFlags(run, ['--', '-weird-image']).args).toEqual(['-weird-image']);
    expect(parseFlags(run, ['--help']).help).toBe(true);
  });

  it('clear usage errors', () => {
    const err = (argv: string[]): string => {
      try { parseFlags(run, argv); } catch (e) { expect(e).toBeInstanceOf(UsageError); return (e as Error).message; }
      return 'no error';
    };
    expect(err(['--bogus', 'x'])).toBe('unknown flag: --bogus');
    expect(err(['-z', 'x'])).toBe("unknown shorthand flag: 'z' in -z");
    expect(err(['--name'])).toBe('flag needs an argument: --name');
    expect(err(['--rm=yes', 'x'])).toBe('invalid argument "yes" for "--rm" flag: strconv.ParseBool: parsing "yes": invalid syntax');
    expect(err([])).toMatch(/^"skiff run" requires at least 1 argument\.\nUsage:  skiff run \[OPTIONS\] IMAGE/);
    expect(err(['-e'])).toBe("flag needs an argument: 'e' in -e");
  });

  it('booleans take =true/=false (pflag); defaults apply; host-only flags are named', () => {
    const spec: CommandSpec = { ...run, flags: [...run.flags, { name: 'tail', value: true, default: 'all', help: 'tail' }, { name: 'env-file', value: true, repeat: true, help: 'f', hostOnly: 'no host files here' }] };
    expect(parseFlags(spec, ['--rm=false', '-t=true', 'img']).flags).toEqual({ rm: false, tty: true, tail: 'all' });
    const { flags } = parseFlags(spec, ['--env-file', 'a.env', 'img']);
    expect(hostOnlyFlags(spec, flags).map((f) => f.name)).toEqual(['env-file']);
    expect(hostOnlyFlags(spec, parseFlags(spec, ['img']).flags)).toEqual([]);
  });

  it('maxArgs', () => {
    expect(() => parseFlags({ ...run, stopAtPositional: false, maxArgs: 1 }, ['a', 'b'])).toThrow(/accepts at most 1 argument/);
  });

  it('help text lists every flag', () => {
    const h = helpText(run);
    expect(h).toContain('Usage:  skiff run [OPTIONS] IMAGE [COMMAND] [ARG...]');
    for (const f of run.flags) expect(h).toContain(`--${f.name}`);
    expect(h).toMatch(/-e, --env list/);
  });
});
