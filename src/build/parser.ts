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
const DIRECTIVE = /^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$/;
const HEREDOC = /<<(-?)\s*(["']?)([a-zA-Z_][a-zA-Z0-9_-]*)\2/g;

export function parseError(file: string, line: number, message: string): SkiffError {
  return new SkiffError('INVALID_ARGUMENT', `${file}:${line}: ${message}`);
}

/** `# escape=` and `# syntax=` from the top lines; stops at the first line that is not a directive. */
function readDirectives(lines: string[], file: string): { escape: '\\' | '`'; syntax?: string } {
  let escape: '\\' | '`' = '\\';
  let syntax: string | undefined;
  const seen = new Set<string>();
  let i = 0;
  for (; i < lines.length; i++) {
    const m = DIRECTIVE.exec(lines[i]!);
    if (!m) break;
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

/** A JSON array of strings, or undefined (then the shell form applies, as Docker does). */
export function parseJsonArray(text: string): string[] | undefined {
  const t = text.trim();
  if (!t.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(t);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    return undefined;
  }
  return undefined;
}

/** Leading `--flag[=value]` words, and what follows. */
function splitFlags(text: string): { flags: string[]; rest: string } {
  const flags: string[] = [];
  let rest = text.trimStart();
  for (;;) {
    const m = /^--[^\s=]+(=\S*)?(\s+|$)/.exec(rest);
    if (!m || rest.startsWith('-- ')) break;
    flags.push(m[0].trim());
    rest = rest.slice(m[0].length);
  }
  return { flags, rest };
}

export function parseDockerfile(text: string, o: { file?: string } = {}): Dockerfile {
  const file = o.file ?? 'Dockerfile';
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const { escape, syntax } = readDirectives(lines, file);
  const out: Instruction[] = [];
  const isComment = (l: string): boolean => /^\s*#/.test(l);
  const continues = (l: string): boolean => {
    const t = l.replace(/[ \t]+$/, '');
    if (!t.endsWith(escape)) return false;
    // An escaped escape character does not continue the line.
    let n = 0;
    for (let k = t.length - 1; k >= 0 && t[k] === escape; k--) n++;
    return n % 2 === 1;
  };
  let i = 0;
  while (i < lines.length) {
    const raw = lines[i]!;
    if (raw.trim() === '' || isComment(raw)) {
      i++;
      continue;
    }
    const start = i;
    let logical = '';
    let cur = raw;
    for (;;) {
      if (continues(cur)) {
        const t = cur.replace(/[ \t]+$/, '');
        logical += t.slice(0, -1);
        i++;
        // Comment and empty lines inside a continuation are skipped, as Docker does.
        while (i < lines.length && (isComment(lines[i]!) || lines[i]!.trim() === '')) i++;
        if (i >= lines.length) break;
        cur = lines[i]!;
        continue;
      }
      logical += cur;
      i++;
      break;
    }
    const m = /^\s*(\S+)\s*([\s\S]*)$/.exec(logical);
    if (!m) continue;
    const cmd = m[1]!.toLowerCase();
    if (!INSTRUCTIONS.has(cmd)) throw parseError(file, start + 1, `unknown instruction: ${m[1]}`);
    const { flags, rest } = cmd === 'onbuild' ? { flags: [], rest: m[2]! } : splitFlags(m[2]!);
    const heredocs: Heredoc[] = [];
    if (HEREDOC_CMDS.has(cmd) && !rest.trimStart().startsWith('[')) {
      for (const h of rest.matchAll(HEREDOC)) {
        const body: string[] = [];
        let closed = false;
        while (i < lines.length) {
          const l = lines[i++]!;
          const cmp = h[1] ? l.replace(/^\t+/, '') : l;
          if (cmp === h[3]) { closed = true; break; }
          body.push(cmp);
        }
        if (!closed) throw parseError(file, start + 1, `unterminated heredoc <<${h[3]}`);
        heredocs.push({ name: h[3]!, content: body.length ? `${body.join('\n')}\n` : '', expand: h[2] === '', chomp: h[1] === '-' });
      }
    }
    if (rest.trim() === '' && heredocs.length === 0 && cmd !== 'from' && cmd !== 'arg') {
      throw parseError(file, start + 1, `${cmd.toUpperCase()} requires at least one argument`);
    }
    const json = JSON_CMDS.has(cmd) ? parseJsonArray(rest) : undefined;
    out.push({
      cmd, original: logical.trim(), line: start + 1, endLine: i, flags, rest: rest.trim(),
      ...(json ? { json } : {}), heredocs,
    });
  }
  return { escape, ...(syntax !== undefined ? { syntax } : {}), instructions: out };
}
