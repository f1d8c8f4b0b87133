/**
 * The Dockerfile parser, sans-IO: text in, instructions out, as BuildKit's frontend reads a file.
 * Parser directives (`# escape=`, `# syntax=`, `# check=`) only at the very top; comment lines
 * are dropped even inside a continuation; a line ending in the escape character continues;
 * instruction names are case-insensitive; heredocs (`<<EOF`, `<<-EOF`, `<<"EOF"`) are collected
 * for RUN, COPY and ADD; exec forms are JSON string arrays. Nothing is expanded here (expand.ts
 * does that per instruction, when the build knows the variables).
 */
import { SkiffError } from '../errors.ts';

export interface Heredoc {
  name: string;
  content: string;
  /** Variables are expanded in the body (the delimiter was not quoted). */
  expand: boolean;
  /** `<<-`: leading tabs stripped. */
  chomp: boolean;
}

export interface Instruction {
  /** Lower case ("run"). */
  cmd: string;
  /** The instruction as written, continuations joined (for messages and the progress line). */
  original: string;
  /** 1-based line where it starts, and where it ends. */
  line: number;
  endLine: number;
  /** `--name=value` flags before the arguments, in order. */
  flags: string[];
  /** The text after the flags (shell form), continuations joined. */
  rest: string;
  /** The exec form's strings when `rest` is a JSON array of strings. */
  json?: string[];
  heredocs: Heredoc[];
}

export interface Dockerfile {
  /** `# escape=` (default backslash). */
  escape: '\\' | '`';
  /** `# syntax=`: noted, never acted on. */
  syntax?: string;
  instructions: Instruction[];
}

export const INSTRUCTIONS = new Set([
  'add', 'arg', 'cmd', 'copy', 'entrypoint', 'env', 'expose', 'from', 'healthcheck', 'label', 'maintainer',
  'onbuild', 'run', 'shell', 'stopsignal', 'user', 'volume', 'workdir',
]);
const HEREDOC_CMDS = new Set(['run', 'copy', 'add']);
const JSON_CMDS = new Set(['run', 'cmd', 'entrypoint', 'shell', 'copy', 'add', 'volume']);
const DIRECTIVE = /^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const DIRECTIVES = new Set(['syntax', 'escape', 'check']);
const HEREDOC_WORD = /^(\d*)<<(-?)\s*([^<]*)$/;

export function parseError(file: string, line: number, message: string): SkiffError {
  return new SkiffError('INVALID_ARGUMENT', `${file}:${line}: ${message}`);
}

/**
 * Parser directives from the top lines, as BuildKit's DirectiveParser reads them: `#`, then
 * `key=value` with a known key (syntax, escape, check); the first other line ends them (a
 * `# foo=bar` with an unknown key is a comment and ends them too).
 */
function readDirectives(lines: string[], file: string): { escape: '\\' | '`'; syntax?: string } {
  let escape: '\\' | '`' = '\\';
  let syntax: string | undefined;
  const seen = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/^\s+/, '');
    if (!line.startsWith('#')) break;
    const m = DIRECTIVE.exec(line.slice(1).replace(/^\s+/, ''));
    if (!m || !DIRECTIVES.has(m[1]!.toLowerCase())) break;
    const key = m[1]!.toLowerCase();
    if (seen.has(key)) throw parseError(file, i + 1, `only one ${key} parser directive can be used`);
    seen.add(key);
    if (key === 'escape') {
      if (m[2] !== '\\' && m[2] !== '`') throw parseError(file, i + 1, `invalid escape token '${m[2]}' does not match \` or \\`);
      escape = m[2];
    } else if (key === 'syntax') syntax = m[2];
  }
  return { escape, ...(syntax !== undefined ? { syntax } : {}) };
}

/**
 * The exec form: a JSON array of strings, or undefined (then the shell form applies, as Docker
 * does when the text is not valid JSON). A valid JSON array holding a non-string is an error.
 */
export function parseJsonArray(text: string): string[] | undefined {
  const t = text.replace(/^\s+/, '');
  if (!t.startsWith('[')) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch {
    return undefined;
  }
  if (!Array.isArray(v)) return undefined;
  if (!v.every((x) => typeof x === 'string')) throw new SkiffError('INVALID_ARGUMENT', 'when using JSON array syntax, arrays must be comprised of strings only');
  return v as string[];
}

/**
 * Leading `--flag[=value]` words (quotes and escapes removed, as BuildKit's extractBuilderFlags
 * does), and what follows; a lone `--` ends the flags.
 */
export function splitFlags(text: string, escape: string): { flags: string[]; rest: string } {
  const flags: string[] = [];
  let pos = 0;
  for (;;) {
    while (pos < text.length && /\s/.test(text[pos]!)) pos++;
    if (!text.startsWith('--', pos)) return { flags, rest: text.slice(pos) };
    let word = '';
    let quote = '';
    let blankOK = false;
    for (; pos < text.length; pos++) {
      const c = text[pos]!;
      if (quote) {
        if (c === quote) { quote = ''; continue; }
        if (c === escape) {
          if (pos + 1 === text.length) { quote = ''; continue; }
          word += text[++pos];
          continue;
        }
        word += c;
        continue;
      }
      if (/\s/.test(c)) break;
      if (c === '"' || c === "'") { quote = c; blankOK = true; continue; }
      if (c === escape) {
        if (pos + 1 === text.length) continue;
        word += text[++pos];
        continue;
      }
      word += c;
    }
    if (word === '--') return { flags, rest: text.slice(pos).trimStart() };
    if (blankOK || word) flags.push(word);
  }
}

/** BuildKit's word split of a line with raw quotes and escapes, `<<` glued to what follows. */
function heredocWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      cur += c;
      if (c === '\\' && quote === '"' && i + 1 < line.length) cur += line[++i];
      else if (c === quote) quote = '';
      continue;
    }
    if (c === '<' && line[i + 1] === '<') {
      cur += '<<';
      i += 2;
      while (i < line.length && /[ \t\r]/.test(line[i]!)) cur += line[i++];
      i--;
      continue;
    }
    if (/\s/.test(c)) {
      if (cur) words.push(cur);
      cur = '';
      continue;
    }
    cur += c;
    if (c === '\\' && i + 1 < line.length) cur += line[++i];
    else if (c === '"' || c === "'") quote = c;
  }
  if (cur) words.push(cur);
  return words;
}

/** A heredoc word (`<<EOF`, `<<-"EOF"`, `3<<IN`): its name, and whether the body expands. */
export function parseHeredocWord(word: string): Omit<Heredoc, 'content'> | undefined {
  const m = HEREDOC_WORD.exec(word);
  if (!m || !m[3]) return undefined;
  // The name with quotes removed; a quote anywhere in it turns expansion off.
  let name = '';
  let quoted = false;
  let quote = '';
  const raw = m[3];
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (quote) {
      if (c === quote) { quote = ''; continue; }
      if (c === '\\' && quote === '"' && i + 1 < raw.length && '"$\\'.includes(raw[i + 1]!)) { name += raw[++i]; continue; }
      name += c;
      continue;
    }
    if (c === '"' || c === "'") { quote = c; quoted = true; continue; }
    if (c === '\\' && i + 1 < raw.length) { name += raw[++i]; continue; }
    if (/\s/.test(c)) return undefined;
    name += c;
  }
  if (!name) return undefined;
  return { name, expand: !quoted, chomp: m[2] === '-' };
}

/** BuildKit's progress name of a RUN whose script is one heredoc: `RUN <<EOF (first line...)`. */
export function progressName(ins: Instruction): string {
  if (ins.cmd !== 'run' || ins.json || ins.heredocs.length === 0 || !parseHeredocWord(ins.rest)) return ins.original;
  const lines = ins.heredocs[0]!.content.trim().split(/\r?\n/);
  return `${ins.original} (${lines[0]!}${lines.length > 1 ? '...' : ''})`;
}

/** `<<-` bodies: leading tabs removed from every line. */
export function chompHeredoc(content: string): string {
  return content.replace(/^\t+/gm, '');
}

export function parseDockerfile(text: string, o: { file?: string } = {}): Dockerfile {
  const file = o.file ?? 'Dockerfile';
  if (text.length === 0) throw new SkiffError('INVALID_ARGUMENT', 'the Dockerfile cannot be empty');
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  const { escape, syntax } = readDirectives(lines, file);
  const out: Instruction[] = [];
  const isComment = (l: string): boolean => /^\s*#/.test(l);
  // BuildKit's rule: the escape character last (trailing blanks aside), not preceded by another one.
  const continuation = (l: string): string | undefined => {
    const t = l.replace(/[ \t]+$/, '');
    if (!t.endsWith(escape)) return undefined;
    if (t.length > 1 && t[t.length - 2] === escape) return undefined;
    return t.slice(0, -1);
  };
  let i = 0;
  while (i < lines.length) {
    const raw = lines[i]!.replace(/^\s+/, '');
    if (raw === '' || isComment(raw)) {
      i++;
      continue;
    }
    const start = i;
    let logical = '';
    let cur: string = raw;
    for (;;) {
      const cont = continuation(cur);
      i++;
      if (cont === undefined) {
        logical += cur;
        break;
      }
      logical += cont;
      // Comment and empty lines inside a continuation are skipped, as Docker does.
      while (i < lines.length && (isComment(lines[i]!) || lines[i]!.trim() === '')) i++;
      if (i >= lines.length) break;
      cur = lines[i]!;
    }
    const m = /^\s*(\S+)\s*([\s\S]*)$/.exec(logical);
    if (!m) continue;
    const cmd = m[1]!.toLowerCase();
    if (!INSTRUCTIONS.has(cmd)) throw parseError(file, start + 1, `dockerfile parse error on line ${start + 1}: unknown instruction: ${m[1]}${suggest(m[1]!)}`);
    let flags: string[] = [];
    let rest = m[2]!;
    let inner = cmd;
    let innerRest = rest;
    if (cmd === 'onbuild') {
      const sub = /^\s*(\S+)\s*([\s\S]*)$/.exec(rest);
      inner = sub?.[1]?.toLowerCase() ?? '';
      innerRest = sub ? splitFlags(sub[2]!, escape).rest : '';
    } else ({ flags, rest } = splitFlags(rest, escape));
    rest = rest.trim();
    const json = JSON_CMDS.has(cmd) ? wrap(file, start + 1, () => parseJsonArray(rest)) : undefined;
    const heredocs: Heredoc[] = [];
    const innerJson = cmd === 'onbuild' ? JSON_CMDS.has(inner) && wrap(file, start + 1, () => parseJsonArray(innerRest)) : json;
    if (HEREDOC_CMDS.has(inner) && !innerJson && logical.includes('<<')) {
      for (const w of heredocWords(logical)) {
        const h = parseHeredocWord(w);
        if (!h) continue;
        const body: string[] = [];
        let closed = false;
        while (i < lines.length) {
          const l = lines[i++]!;
          if ((h.chomp ? l.replace(/^\t+/, '') : l) === h.name) { closed = true; break; }
          body.push(l);
        }
        if (!closed) throw parseError(file, start + 1, 'unterminated heredoc');
        heredocs.push({ ...h, content: body.length ? `${body.join('\n')}\n` : '' });
      }
    }
    const nargs = json ? json.length : rest.split(/[\t\v\f\r ]+/).filter(Boolean).length;
    if ((cmd === 'copy' || cmd === 'add') && nargs < 2) {
      throw parseError(file, start + 1, `${cmd.toUpperCase()} requires at least two arguments, but only one was provided. Destination could not be determined`);
    }
    if (rest === '' && heredocs.length === 0 && !json && cmd !== 'from') {
      const one = ['user', 'workdir', 'stopsignal', 'maintainer'].includes(cmd);
      if (cmd === 'copy' || cmd === 'add') throw parseError(file, start + 1, `${cmd.toUpperCase()} requires at least two arguments, but only one was provided. Destination could not be determined`);
      if (one || !['cmd', 'entrypoint'].includes(cmd)) throw parseError(file, start + 1, `${cmd.toUpperCase()} requires ${one ? 'exactly' : 'at least'} one argument`);
    }
    out.push({
      cmd, original: logical.trim(), line: start + 1, endLine: i, flags, rest,
      ...(json ? { json } : {}), heredocs,
    });
  }
  if (out.length === 0) throw parseError(file, lines.length, 'file with no instructions');
  return { escape, ...(syntax !== undefined ? { syntax } : {}), instructions: out };
}

function wrap<T>(file: string, line: number, f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw parseError(file, line, (err as Error).message);
  }
}

/** BuildKit's " (did you mean X?)": the first closest name under distance 3, in the word's case. */
export function suggest(word: string, options: Iterable<string> = INSTRUCTIONS, caseSensitive = false): string {
  const w = caseSensitive ? word : word.toLowerCase();
  let best = '';
  let min = 3;
  for (const name of options) {
    const o = caseSensitive ? name : name.toLowerCase();
    if (o === w) return '';
    const d = levenshtein(w, o);
    if (d < min) { best = o; min = d; }
  }
  if (!best) return '';
  const cased = caseSensitive || word === word.toLowerCase() ? best : word === word.toUpperCase() ? best.toUpperCase() : best;
  return ` (did you mean ${cased}?)`;
}

function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
