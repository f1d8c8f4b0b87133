/**
 * Docker's variable substitution and word splitting (BuildKit's shell lexer, in its behaviour):
 * `$X`, `${X}`, `${X:-d}`, `${X-d}`, `${X:+a}`, `${X+a}`, `${X:?msg}`, `${X?msg}`, prefix/suffix
 * removal (`${X#p}`, `${X%p}`); single quotes are literal, double quotes expand; the escape
 * character escapes the next one (inside double quotes only `$`, `"` and itself). Quotes are
 * removed from the result, as the shell would.
 */
import { SkiffError } from '../errors.ts';

export type Lookup = (name: string) => string | undefined;

interface Lexer {
  s: string;
  i: number;
  escape: string;
  lookup: Lookup;
  /** Variable names read (to key the cache on the build args a step uses). */
  used: Set<string>;
}

function globToRegex(p: string, greedy: boolean): string {
  let r = '';
  for (const c of p) r += c === '*' ? (greedy ? '.*' : '.*?') : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  return r;
}

function readVar(lx: Lexer): string {
  const { s } = lx;
  if (s[lx.i] !== '{') {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*|[0-9*#?$!@-])/.exec(s.slice(lx.i));
    if (!m) return '$';
    lx.i += m[0].length;
    lx.used.add(m[0]);
    return lx.lookup(m[0]) ?? '';
  }
  lx.i++;
  const m = /^[a-zA-Z_][a-zA-Z0-9_]*|^[0-9*#?$!@-]/.exec(s.slice(lx.i));
  if (!m) throw new SkiffError('INVALID_ARGUMENT', `failed to process "${s}": missing ':' in substitution`);
  const name = m[0];
  lx.i += name.length;
  lx.used.add(name);
  const value = lx.lookup(name);
  if (s[lx.i] === '}') {
    lx.i++;
    return value ?? '';
  }
  let op = s[lx.i]!;
  lx.i++;
  let colon = false;
  if (op === ':') {
    colon = true;
    op = s[lx.i]!;
    lx.i++;
    if (!'-+?'.includes(op)) throw new SkiffError('INVALID_ARGUMENT', `failed to process "${s}": unsupported modifier (${op}) in substitution`);
  } else if (op === '#' || op === '%') {
    const greedy = s[lx.i] === op;
    if (greedy) lx.i++;
    const pat = readWord(lx, '}', true);
    const v = value ?? '';
    const re = op === '#' ? new RegExp(`^${globToRegex(pat, greedy)}`, 's') : new RegExp(`${globToRegex(pat, greedy)}$`, 's');
    if (op === '%' && !greedy) {
      // Shortest suffix: try from the end.
      for (let k = v.length; k >= 0; k--) if (new RegExp(`^${globToRegex(pat, true)}$`, 's').test(v.slice(k))) return v.slice(0, k);
      return v;
    }
    return v.replace(re, '');
  } else if (!'-+?'.includes(op)) {
    throw new SkiffError('INVALID_ARGUMENT', `failed to process "${s}": missing ':' in substitution`);
  }
  const word = readWord(lx, '}', true);
  const set = value !== undefined && (!colon || value !== '');
  if (op === '-') return set ? value! : word;
  if (op === '+') return set ? word : '';
  if (!set) throw new SkiffError('INVALID_ARGUMENT', `failed to process "${s}": ${name}: ${word || 'is not allowed to be unset'}`);
  return value!;
}

/** Until `stop` (consumed) or the end; quotes and escapes handled, quotes removed. */
function readWord(lx: Lexer, stop: string, inBrace = false): string {
  const { s, escape } = lx;
  let out = '';
  while (lx.i < s.length) {
    const c = s[lx.i]!;
    if (c === stop) { lx.i++; return out; }
    if (c === escape) {
      lx.i++;
      if (lx.i < s.length) out += s[lx.i++];
      continue;
    }
    if (c === "'" && !inBrace) {
      const end = s.indexOf("'", lx.i + 1);
      if (end < 0) throw new SkiffError('INVALID_ARGUMENT', `failed to process "${s}": unexpected end of statement while looking for matching single-quote`);
      out += s.slice(lx.i + 1, end);
      lx.i = end + 1;
      continue;
    }
    if (c === '"' && !inBrace) {
      lx.i++;
      for (;;) {
        if (lx.i >= s.length) throw new SkiffError('INVALID_ARGUMENT', `failed to process "${s}": unexpected end of statement while looking for matching double-quote`);
        const d = s[lx.i]!;
        if (d === '"') { lx.i++; break; }
        if (d === escape && '"$'.concat(escape).includes(s[lx.i + 1] ?? '')) { out += s[lx.i + 1]; lx.i += 2; continue; }
        if (d === '$') { lx.i++; out += readVar(lx); continue; }
        out += d;
        lx.i++;
      }
      continue;
    }
    if (c === '$') {
      lx.i++;
      out += readVar(lx);
      continue;
    }
    out += c;
    lx.i++;
  }
  if (stop === '}') throw new SkiffError('INVALID_ARGUMENT', `failed to process "${s}": syntax error: missing '}'`);
  return out;
}

/** One word: the whole text expanded, quotes removed, whitespace kept. */
export function expandWord(text: string, lookup: Lookup, escape = '\\', used = new Set<string>()): string {
  const lx: Lexer = { s: text, i: 0, escape, lookup, used };
  return readWord(lx, '\u0000');
}

/**
 * Words split at unquoted whitespace, each expanded (a variable's value is not split again, as
 * in BuildKit's ProcessWords).
 */
export function expandWords(text: string, lookup: Lookup, escape = '\\', used = new Set<string>()): string[] {
  return splitRaw(text, escape).map((w) => expandWord(w, lookup, escape, used));
}

/** Split at unquoted, unescaped whitespace, keeping quotes and escapes (for a later expandWord). */
export function splitRaw(text: string, escape = '\\'): string[] {
  const words: string[] = [];
  let cur = '';
  let quote = '';
  let has = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      cur += c;
      if (c === escape && quote === '"' && i + 1 < text.length) cur += text[++i];
      else if (c === quote) quote = '';
      continue;
    }
    if (/\s/.test(c)) {
      if (has) words.push(cur);
      cur = '';
      has = false;
      continue;
    }
    has = true;
    cur += c;
    if (c === escape && i + 1 < text.length) cur += text[++i];
    else if (c === '"' || c === "'") quote = c;
  }
  if (has) words.push(cur);
  return words;
}

/**
 * `KEY=value KEY2="v 2"` (or the old `KEY value words`) for ENV, LABEL: pairs, values expanded
 * (keys too, as Docker does).
 */
export function parseKeyValues(text: string, lookup: Lookup, escape: string, what: string, used?: Set<string>): Array<[string, string]> {
  const words = splitRaw(text, escape);
  if (words.length === 0) throw new SkiffError('INVALID_ARGUMENT', `${what} requires at least one argument`);
  if (!words[0]!.includes('=')) {
    // Old form: the first word is the key, the rest of the line (whitespace kept) the value.
    const key = words[0]!;
    const value = text.trim().slice(key.length).trim();
    if (!value) throw new SkiffError('INVALID_ARGUMENT', `${what} must have two arguments`);
    return [[expandWord(key, lookup, escape, used), expandWord(value, lookup, escape, used)]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq === 0) throw new SkiffError('INVALID_ARGUMENT', `${what} names can not be blank`);
    if (eq < 0) throw new SkiffError('INVALID_ARGUMENT', `Syntax error - can't find = in "${w}". Must be of the form: name=value`);
    return [expandWord(w.slice(0, eq), lookup, escape, used), expandWord(w.slice(eq + 1), lookup, escape, used)];
  });
}
