/** The sans-IO parts: parseDockerfile, variable expansion, .dockerignore matching. */
import { describe, expect, it } from 'vitest';
import { parseDockerfile, progressName } from '../../src/build/parser.ts';
import { expandWord, expandWords, parseKeyValues } from '../../src/build/expand.ts';
import { IgnoreMatcher } from '../../src/build/ignore.ts';

describe('parseDockerfile', () => {
  it('reads every instruction, case-insensitively, with flags, exec forms and lines', () => {
    const df = parseDockerfile([
      'from --platform=linux/386 busybox AS b',
      'Run echo hi',
      'RUN ["echo", "exec"]',
      'cmd ["a"]', 'ENTRYPOINT /bin/x', 'ENV A=1', 'ARG B=2', 'WORKDIR /w', 'USER 1', 'LABEL k=v', 'EXPOSE 80',
      'VOLUME /v', 'STOPSIGNAL SIGINT', 'HEALTHCHECK --interval=5s CMD true', 'SHELL ["/bin/sh", "-c"]',
      'ONBUILD RUN x', 'MAINTAINER me', 'COPY --chown=1:1 a b', 'ADD x y',
    ].join('\n'));
    expect(df.instructions.map((i) => i.cmd)).toEqual(['from', 'run', 'run', 'cmd', 'entrypoint', 'env', 'arg', 'workdir', 'user', 'label', 'expose', 'volume', 'stopsignal', 'healthcheck', 'shell', 'onbuild', 'maintainer', 'copy', 'add']);
    expect(df.instructions[0]).toMatchObject({ flags: ['--platform=linux/386'], rest: 'busybox AS b', line: 1 });
    expect(df.instructions[2]!.json).toEqual(['echo', 'exec']);
    expect(df.instructions[1]!.json).toBeUndefined();
    expect(df.instructions[13]).toMatchObject({ flags: ['--interval=5s'], rest: 'CMD true' });
    expect(df.instructions[17]).toMatchObject({ flags: ['--chown=1:1'], rest: 'a b', line: 18 });
  });

  it('joins continuations, skipping comment and empty lines inside, and counts lines', () => {
    const df = parseDockerfile('# comment\nFROM x\n\nRUN a \\\n  # inner comment\n\n  b \\\n  c\nENV X=1\n');
    expect(df.instructions[1]).toMatchObject({ cmd: 'run', rest: 'a   b   c', line: 4, endLine: 8 });
    expect(df.instructions[2]!.line).toBe(9);
  });

  it('the escape directive changes the continuation character; syntax is noted', () => {
    const df = parseDockerfile('# syntax=docker/dockerfile:1\n# escape=`\nFROM x\nRUN dir c:\\ `\n  && echo\n');
    expect(df.escape).toBe('`');
    expect(df.syntax).toBe('docker/dockerfile:1');
    expect(df.instructions[1]!.rest).toBe('dir c:\\   && echo');
    // A directive after a comment line is a comment.
    expect(parseDockerfile('# hello\n# escape=`\nFROM x\n').escape).toBe('\\');
    expect(() => parseDockerfile('# escape=x\nFROM x\n')).toThrow("Dockerfile:1: invalid escape token 'x' does not match ` or \\");
  });

  it('heredocs: bodies, quoted delimiters do not expand, <<- strips tabs, several per line', () => {
    const df = parseDockerfile('FROM x\nRUN <<EOF\necho $A\nEOF\nCOPY <<"A" <<-B /d/\nraw $X\nA\n\tindented\n\tB\nENV Z=1\n');
    expect(df.instructions[1]!.heredocs).toEqual([{ name: 'EOF', content: 'echo $A\n', expand: true, chomp: false }]);
    expect(df.instructions[2]!.heredocs).toEqual([
      { name: 'A', content: 'raw $X\n', expand: false, chomp: false },
      // The body is kept as written; `<<-` is applied where it is used (BuildKit's ChompHeredocContent).
      { name: 'B', content: '\tindented\n', expand: true, chomp: true },
    ]);
    expect(df.instructions[3]).toMatchObject({ cmd: 'env', line: 10 });
    expect(() => parseDockerfile('FROM x\nRUN <<EOF\necho\n')).toThrow('Dockerfile:2: unterminated heredoc');
  });

  it('errors name the file and line', () => {
    expect(() => parseDockerfile('FROM x\n\nFOO bar\n', { file: 'Containerfile' })).toThrow('Containerfile:3: dockerfile parse error on line 3: unknown instruction: FOO');
    expect(() => parseDockerfile('FROM x\nRUN   \n')).toThrow('Dockerfile:2: RUN requires at least one argument');
  });
});

describe('parseDockerfile follows BuildKit', () => {
  it('directives: only known keys at the very top; an unknown one ends them', () => {
    expect(parseDockerfile('# foo=bar\n# escape=`\nFROM x\n').escape).toBe('\\');
    expect(parseDockerfile('# check=skip=all\n# escape=`\nFROM x\n').escape).toBe('`');
    expect(parseDockerfile('  # escape=`\nFROM x\n').escape).toBe('`');
    expect(() => parseDockerfile('# escape=`\n# ESCAPE=`\nFROM x\n')).toThrow('only one escape parser directive can be used');
    expect(parseDockerfile('FROM x\n# escape=`\nRUN a \\\n b\n').instructions[1]!.rest).toBe('a  b');
  });

  it('an escaped escape character does not continue the line; nor does a tripled one', () => {
    const df = parseDockerfile('FROM x\nRUN echo a\\\\\nRUN echo b\\\\\\\nRUN c\n');
    expect(df.instructions.map((i) => i.rest)).toEqual(['x', 'echo a\\\\', 'echo b\\\\\\', 'c']);
  });

  it('flags: quotes and escapes removed, `--` ends them', () => {
    const df = parseDockerfile('FROM x\nCOPY --chown="a b" --chmod=7\\55 -- --weird /d\n');
    expect(df.instructions[1]).toMatchObject({ flags: ['--chown=a b', '--chmod=755'], rest: '--weird /d' });
  });

  it('JSON: a non-string element is an error; invalid JSON is the shell form', () => {
    expect(() => parseDockerfile('FROM x\nCMD ["a", 1]\n')).toThrow('Dockerfile:2: when using JSON array syntax, arrays must be comprised of strings only');
    expect(parseDockerfile('FROM x\nCMD [a, b]\n').instructions[1]!.json).toBeUndefined();
    expect(parseDockerfile('FROM x\nENTRYPOINT []\n').instructions[1]!.json).toEqual([]);
  });

  it('heredocs are words of the line: quoted `<<` is not one; fd prefixes; ONBUILD RUN <<EOF', () => {
    expect(parseDockerfile('FROM x\nRUN echo "<<EOF"\n').instructions[1]!.heredocs).toEqual([]);
    const df = parseDockerfile('FROM x\nRUN <<EOF 3<<\'IN1\' awk -f -\nBEGIN\nEOF\nin $x\nIN1\nONBUILD RUN <<EOF\necho hi\nEOF\n');
    expect(df.instructions[1]!.heredocs).toEqual([
      { name: 'EOF', content: 'BEGIN\n', expand: true, chomp: false }, { name: 'IN1', content: 'in $x\n', expand: false, chomp: false },
    ]);
    expect(df.instructions[2]!.heredocs).toEqual([{ name: 'EOF', content: 'echo hi\n', expand: true, chomp: false }]);
  });

  it('a RUN whose script is a heredoc shows its first line in the progress, as BuildKit names the step', () => {
    const df = parseDockerfile('FROM x\nRUN <<EOF\necho a\necho b\nEOF\nRUN <<EOF\n  one  \nEOF\nRUN cat <<EOF\nx\nEOF\n');
    expect(df.instructions.slice(1).map(progressName)).toEqual(['RUN <<EOF (echo a...)', 'RUN <<EOF (one)', 'RUN cat <<EOF']);
  });

  it('errors as BuildKit words them', () => {
    expect(() => parseDockerfile('')).toThrow('the Dockerfile cannot be empty');
    expect(() => parseDockerfile('# just a comment\n')).toThrow('file with no instructions');
    expect(() => parseDockerfile('FROM x\nRUNN echo\n')).toThrow('Dockerfile:2: dockerfile parse error on line 2: unknown instruction: RUNN (did you mean RUN?)');
    expect(() => parseDockerfile('FROM x\ncopy a\n')).toThrow('COPY requires at least two arguments, but only one was provided. Destination could not be determined');
    expect(() => parseDockerfile('FROM x\nWORKDIR\n')).toThrow('WORKDIR requires exactly one argument');
  });
});

describe('expansion', () => {
  const vars: Record<string, string> = { A: 'a', E: '', P: 'dir/file.tar.gz' };
  const look = (n: string) => vars[n];
  it('forms Docker supports', () => {
    expect(expandWord('$A ${A} ${A}x', look)).toBe('a a ax');
    expect(expandWord('${U:-def} ${E:-def} ${E-def} ${U-def}', look)).toBe('def def  def');
    expect(expandWord('${A:+set} ${E:+set} ${E+set} ${U+set}', look)).toBe('set  set ');
    expect(expandWord('${P#*/} ${P%.*} ${P%%.*} ${P##*.}', look)).toBe('file.tar.gz dir/file.tar dir/file gz');
    expect(() => expandWord('${U:?must be set}', look)).toThrow('U: must be set');
    expect(() => expandWord('${E:?}', look)).toThrow('failed to process "${E:?}": E: is not allowed to be empty');
    expect(() => expandWord('${U?}', look)).toThrow('U: is not allowed to be unset');
  });
  it('BuildKit lexer details: quotes inside ${}, replacement, errors', () => {
    expect(expandWord('${U:-"a b"} ${U:-\'$A\'} ${U:-$A}', look)).toBe("a b $A a");
    expect(expandWord('${P/file/x} ${P//[.]/_} ${P//./_}', look)).toBe('dir/x.tar.gz dir/file.tar.gz dir/file_tar_gz');
    expect(expandWord('$1 $$ ${A}b $Ab', (n) => ({ '1': 'one', A: 'a' } as Record<string, string>)[n])).toBe('one  ab ');
    expect(() => expandWord('${}', look)).toThrow('failed to process "${}": syntax error: bad substitution');
    expect(() => expandWord('${A', look)).toThrow('unsupported modifier (\uFFFD) in substitution');
    expect(() => expandWord('${A:-x', look)).toThrow("syntax error: missing '}'");
    expect(() => expandWord('${A:#x}', look)).toThrow('unsupported modifier (:#) in substitution');
    expect(() => expandWord('${A*}', look)).toThrow('unsupported modifier (*) in substitution');
    expect(() => expandWord('"abc', look)).toThrow('unexpected end of statement while looking for matching double-quote');
    // Heredoc bodies: quotes are plain characters, `\` still escapes.
    expect(expandWord('"$A" \'$A\' \\$A', look, '\\', { skipQuotes: true })).toBe('"a" \'a\' $A');
  });
  it('ProcessWords splits a variable\'s value too (EXPOSE)', () => {
    expect(expandWords('$V "b c"', (n) => (n === 'V' ? '80 81' : undefined))).toEqual(['80', '81', 'b c']);
  });
  it('quotes and escapes', () => {
    expect(expandWord(`'$A' "$A" \\$A "\\$A" "a\\"b"`, look)).toBe(`$A a $A $A a"b`);
    expect(expandWord('`$A', look, '`')).toBe('$A');
    expect(expandWords('a "b c" $A', look)).toEqual(['a', 'b c', 'a']);
  });
  it('key=value lists and the old form', () => {
    expect(parseKeyValues('X=1 Y="two words" Z=$A', look, '\\', 'ENV')).toEqual([['X', '1'], ['Y', 'two words'], ['Z', 'a']]);
    expect(parseKeyValues('X  value with  spaces', look, '\\', 'ENV')).toEqual([['X', 'value with  spaces']]);
    expect(() => parseKeyValues('X=1 Y', look, '\\', 'ENV')).toThrow(/can't find = in "Y"/);
  });
});

describe('.dockerignore', () => {
  it('patterns, ** and ! exceptions, parents excluding children, last match wins', () => {
    const m = IgnoreMatcher.parse('# c\n*.log\n!keep.log\n**/tmp\nbuild\n!build/keep\n/abs\n');
    expect(m.ignores('a.log')).toBe(true);
    expect(m.ignores('d/a.log')).toBe(false); // * does not cross /
    expect(m.ignores('keep.log')).toBe(false);
    expect(m.ignores('x/y/tmp/f')).toBe(true);
    expect(m.ignores('tmp')).toBe(true);
    expect(m.ignores('build/out')).toBe(true);
    expect(m.ignores('build/keep')).toBe(false);
    expect(m.ignores('abs')).toBe(true);
    expect(m.ignores('src/main.c')).toBe(false);
  });
  it('as moby/patternmatcher: [!x] is not a negation, ** mid-pattern spans directories, only a leading # comments', () => {
    const m = IgnoreMatcher.parse('[!a].txt\na**z\n  #x\n\\#y\nf[^o]o\n');
    expect(m.ignores('!.txt')).toBe(true);
    expect(m.ignores('b.txt')).toBe(false);
    expect(m.ignores('ab/c/z')).toBe(true);
    expect(m.ignores('#x')).toBe(true);
    expect(m.ignores('#y')).toBe(true);
    expect(m.ignores('fxo')).toBe(true);
    expect(m.ignores('foo')).toBe(false);
    expect(() => IgnoreMatcher.parse('a\n!\n')).toThrow('illegal exclusion pattern: "!"');
  });
});

describe('filesToContext (browser)', () => {
  const file = (name: string, text: string, rel = '') => ({ name, webkitRelativePath: rel, arrayBuffer: async () => new TextEncoder().encode(text).buffer as ArrayBuffer });
  it('a picked folder loses its top directory; loose files keep their names; one tar is the context', async () => {
    const { filesToContext } = await import('../../src/build/browser-context.ts');
    const picked = await filesToContext([file('Dockerfile', 'FROM x', 'proj/Dockerfile'), file('a', 'A', 'proj/src/a')]);
    expect([...(picked as Map<string, Uint8Array>).keys()]).toEqual(['Dockerfile', 'src/a']);
    const loose = await filesToContext([file('Dockerfile', 'FROM x'), file('a', 'A')]);
    expect([...(loose as Map<string, Uint8Array>).keys()]).toEqual(['Dockerfile', 'a']);
    expect(await filesToContext([file('ctx.tar', 'T')])).toBeInstanceOf(Uint8Array);
  });
});
