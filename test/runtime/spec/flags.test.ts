import { describe, expect, it } from 'vitest';
import { errorOf } from '../../helpers/errors.ts';
import {
  mergeEnv, parseCpus, parseEnvFile, parseEnvFlag, parseInteger, parseLabel, parseLabelFile, parseMemory, parseMemorySwap,
} from '../../../src/runtime/spec/flags.ts';

describe('parseMemory (go-units RAMInBytes)', () => {
  it.each([
    ['0', 0],
    ['32', 32],
    ['32b', 32],
    ['32B', 32],
    ['32k', 32 * 1024],
    ['32K', 32 * 1024],
    ['32kb', 32 * 1024],
    ['32Kb', 32 * 1024],
    ['32KiB', 32 * 1024],
    ['64m', 64 * 2 ** 20],
    ['64MB', 64 * 2 ** 20],
    ['64mib', 64 * 2 ** 20],
    ['64 m', 64 * 2 ** 20],
    ['1g', 2 ** 30],
    ['1.5g', 1.5 * 2 ** 30],
    ['0.5k', 512],
    ['.5k', 512],
    ['2t', 2 * 2 ** 40],
    ['1p', 2 ** 50],
    ['1.9b', 1],
  ])('%s = %d bytes', (text, n) => {
    expect(parseMemory(text)).toBe(n);
  });

  it.each([
    ['', "invalid size: ''"],
    ['m', "invalid size: 'm'"],
    ['-1', "invalid size: '-1'"],
    ['-64m', "invalid size: '-64m'"],
    ['1..2m', "invalid size: '1..2m'"],
    ['64x', "invalid suffix: 'x'"],
    ['64mm', "invalid suffix: 'mm'"],
    ['64kib2', "invalid size: '64kib2'"],
    ['64mibb', "invalid suffix: 'mibb'"],
    ['64bi', "invalid suffix: 'bi'"],
    ['64kx', "invalid suffix: 'kx'"],
  ])('rejects %j: %s', (text, message) => {
    expect(errorOf(() => parseMemory(text))).toEqual({ code: 'INVALID_ARGUMENT', message });
  });

  it('memory-swap: -1 is unlimited, other values are sizes', () => {
    expect(parseMemorySwap('-1')).toBe(-1);
    expect(parseMemorySwap('128m')).toBe(128 * 2 ** 20);
    expect(errorOf(() => parseMemorySwap('-2')).message).toBe("invalid size: '-2'");
  });
});

describe('parseCpus (big.Rat * 1e9)', () => {
  it.each([
    ['1', 1e9],
    ['0.5', 5e8],
    ['1.5', 1.5e9],
    ['.25', 2.5e8],
    ['3/2', 1.5e9],
    ['15e-1', 1.5e9],
    ['0.000000001', 1],
    ['0', 0],
  ])('%s = %d nano CPUs', (text, n) => {
    expect(parseCpus(text)).toBe(n);
  });

  it('rejects what Docker rejects, with its words', () => {
    expect(errorOf(() => parseCpus('abc')).message).toBe('failed to parse abc as a rational number');
    expect(errorOf(() => parseCpus('1/0')).message).toBe('failed to parse 1/0 as a rational number');
    expect(errorOf(() => parseCpus('')).message).toBe('failed to parse  as a rational number');
    expect(errorOf(() => parseCpus('0.0000000001')).message).toBe('value is too precise');
    expect(errorOf(() => parseCpus('1/3')).message).toBe('value is too precise');
  });
});

describe('-e and --env-file', () => {
  const hostEnv = { FROM_HOST: 'hv', EMPTY: '' };

  it('-e passes KEY=VALUE through untouched and takes a bare KEY from the host', () => {
    expect(parseEnvFlag('A=1')).toBe('A=1');
    expect(parseEnvFlag('A= spaced "q" ')).toBe('A= spaced "q" ');
    expect(parseEnvFlag('A=')).toBe('A=');
    expect(parseEnvFlag('A=b=c')).toBe('A=b=c');
    expect(parseEnvFlag('FROM_HOST', hostEnv)).toBe('FROM_HOST=hv');
    expect(parseEnvFlag('EMPTY', hostEnv)).toBe('EMPTY=');
    expect(parseEnvFlag('MISSING', hostEnv)).toBeUndefined();
    expect(errorOf(() => parseEnvFlag('=x')).message).toBe('invalid environment variable: =x');
    expect(errorOf(() => parseEnvFlag('')).message).toBe('invalid environment variable: ');
  });

  it('env file: comments, blank lines, leading whitespace, no quote processing, bare keys, BOM, CRLF', () => {
    const text = [
      '\uFEFF# a comment',
      '',
      '   ',
      'PLAIN=value',
      '  INDENTED=kept trailing  ',
      'QUOTED="not unquoted"',
      "SINGLE='x'",
      'EQUALS=a=b=c',
      'EMPTYVAL=',
      '\t# indented comment',
      'FROM_HOST',
      '  MISSING',
      'HASH=value # not a comment',
      'WIN=crlf\r',
    ].join('\n');
    expect(parseEnvFile(text, { hostEnv })).toEqual([
      'PLAIN=value',
      'INDENTED=kept trailing  ',
      'QUOTED="not unquoted"',
      "SINGLE='x'",
      'EQUALS=a=b=c',
      'EMPTYVAL=',
      'FROM_HOST=hv',
      'HASH=value # not a comment',
      'WIN=crlf',
    ]);
  });

  it('env file errors are Docker\'s', () => {
    expect(errorOf(() => parseEnvFile('GOOD=1\nBAD KEY=1\n')).message).toBe(
      "poorly formatted environment: variable 'BAD KEY' contains whitespaces",
    );
    expect(errorOf(() => parseEnvFile('=novar\n')).message).toBe("poorly formatted environment: no variable name on line '=novar'");
    // Docker trims only the front of a line: a bare key with trailing blanks is refused.
    expect(errorOf(() => parseEnvFile('KEY  \n')).message).toBe("poorly formatted environment: variable 'KEY  ' contains whitespaces");
    expect(errorOf(() => parseEnvFile('KEY\t=1')).message).toBe("poorly formatted environment: variable 'KEY\t' contains whitespaces");
  });

  it('env file bytes must be UTF-8; the error names the file and line', () => {
    const enc = new TextEncoder();
    const ok = new Uint8Array([0xef, 0xbb, 0xbf, ...enc.encode('A=\u00e9t\u00e9\nB=2\n')]);
    expect(parseEnvFile(ok)).toEqual(['A=\u00e9t\u00e9', 'B=2']);
    const bad = new Uint8Array([...enc.encode('A=1\nB=2\nC='), 0xff, 0xfe, ...enc.encode('\n')]);
    expect(errorOf(() => parseEnvFile(bad, { fileName: 'prod.env' })).message).toBe('env file prod.env contains invalid utf8 bytes at line 3');
    // A BOM is only dropped on the first line: elsewhere it is part of the key, as in Docker.
    expect(parseEnvFile(new Uint8Array([...enc.encode('A=1\n'), 0xef, 0xbb, 0xbf, ...enc.encode('B=2')]))).toEqual(['A=1', '\uFEFFB=2']);
  });

  it('mergeEnv: later keys replace earlier ones in place', () => {
    expect(mergeEnv(['A=1', 'B=2'], ['C=3', 'A=4'], ['B=5'])).toEqual(['A=4', 'B=5', 'C=3']);
  });
});

describe('labels and integers', () => {
  it('labels', () => {
    expect(parseLabel('a=b')).toEqual({ a: 'b' });
    expect(parseLabel('a')).toEqual({ a: '' });
    expect(parseLabel('a=b=c')).toEqual({ a: 'b=c' });
    expect(errorOf(() => parseLabel('=x')).message).toBe("invalid label '=x': empty name");
    expect(parseLabelFile('# c\nx=1\ny\n')).toEqual({ x: '1', y: '' });
  });

  it('integers as Go\'s strconv words it', () => {
    expect(parseInteger('-1')).toBe(-1);
    expect(parseInteger(' 42 ')).toBe(42);
    expect(parseInteger(7)).toBe(7);
    expect(errorOf(() => parseInteger('1.5')).message).toBe('strconv.ParseInt: parsing "1.5": invalid syntax');
    expect(errorOf(() => parseInteger('99999999999999999999')).message).toBe(
      'strconv.ParseInt: parsing "99999999999999999999": value out of range',
    );
  });
});
