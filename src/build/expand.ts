/**
 * Docker's variable substitution and word splitting, as BuildKit's shell lexer behaves:
 * `$X`, `${X}`, `${X:-d}`, `${X-d}`, `${X:+a}`, `${X+a}`, `${X:?msg}`, `${X?msg}`, prefix and
 * suffix removal (`${X#p}`, `${X##p}`, `${X%p}`, `${X%%p}`) and replacement (`${X/p/r}`,
 * `${X//p/r}`). Single quotes are literal, double quotes expand; the escape character escapes the
 * next one (inside double quotes only `"`, `$` and itself). Quotes are removed from the result.
 * The words inside `${...}` are read the same way (quotes and nested `$` included).
 */
import { SkiffError } from '../errors.ts';

export type Lookup = (name: string) => string | undefined;

export interface ExpandOptions {
  /** Quotes are ordinary characters (heredoc bodies: BuildKit's SkipProcessQuotes). */
  skipQuotes?: boolean;
  /** Variable names read (to key the cache on the build args a step uses). */
  used?: Set<string>;
}

class Lexer {
  i = 0;
  constructor(readonly s: string, readonly escape: string, readonly lookup: Lookup, readonly o: ExpandOptions) {}

  peek(): string | undefined {
    return this.s[this.i];
  }

  next(): string | undefined {
    return this.s[this.i++];
  }

  get(name: string): string | undefined {
    this.o.used?.add(name);
    return this.lookup(name);
  }
}

/** Collects a word list the way ProcessWords does: unquoted whitespace (also in a variable's value) splits. */
class Words {
  words: string[] = [];
  buf = '';
  inWord = false;

  add(c: string): void {
    if (/\s/.test(c)) {
      if (this.inWord && this.buf) {
        this.words.push(this.buf);
        this.buf = '';
        this.inWord = false;
      }
    } else this.raw(c);
  }

  raw(s: string): void {
    this.buf += s;
    this.inWord = true;
  }

  done(): string[] {
    if (this.buf) this.words.push(this.buf);
    return this.words;
  }
}

class LexError extends Error {}

/** Reads until `stop` (consumed) or the end; returns the text and its words. */
function processStopOn(lx: Lexer, stop: string | undefined, rawEscapes: boolean): { text: string; words: string[] } {
  let text = '';
  const words = new Words();
  while (lx.peek() !== undefined) {
    const c = lx.peek()!;
    if (stop !== undefined && c === stop) {
      lx.next();
      return { text, words: words.done() };
    }
    if (c === '$') {
      const v = processDollar(lx);
      text += v;
      for (const ch of v) words.add(ch);
      continue;
    }
    if (!lx.o.skipQuotes && (c === "'" || c === '"')) {
      const v = c === "'" ? singleQuote(lx) : doubleQuote(lx, rawEscapes);
      text += v;
      words.raw(v);
      continue;
    }
    lx.next();
    if (c === lx.escape) {
      if (rawEscapes) {
        text += c;
        words.raw(c);
      }
      const n = lx.next();
      if (n === undefined) break;
      text += n;
      words.raw(n);
      continue;
    }
    text += c;
    words.add(c);
  }
  if (stop !== undefined) throw new LexError(`unexpected end of statement while looking for matching ${stop}`);
  return { text, words: words.done() };
}

function singleQuote(lx: Lexer): string {
  lx.next();
  let out = '';
  for (;;) {
    const c = lx.next();
    if (c === undefined) throw new LexError('unexpected end of statement while looking for matching single-quote');
    if (c === "'") return out;
    out += c;
  }
}

function doubleQuote(lx: Lexer, rawEscapes: boolean): string {
  lx.next();
  let out = '';
  for (;;) {
    const c = lx.peek();
    if (c === undefined) throw new LexError('unexpected end of statement while looking for matching double-quote');
    if (c === '"') {
      lx.next();
      return out;
    }
    if (c === '$') {
      out += processDollar(lx);
      continue;
    }
    lx.next();
    if (c === lx.escape) {
      if (rawEscapes) out += c;
      const n = lx.peek();
      if (n === undefined) continue;
      if (n === '"' || n === '$' || n === lx.escape) {
        out += lx.next();
        continue;
      }
      out += c;
      continue;
    }
    out += c;
  }
}

const SPECIAL = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);

function processName(lx: Lexer): string {
  let name = '';
  for (;;) {
    const c = lx.peek();
    if (c === undefined) return name;
    if (name === '' && /[0-9]/.test(c)) {
      while (lx.peek() !== undefined && /[0-9]/.test(lx.peek()!)) name += lx.next();
      return name;
    }
    if (name === '' && SPECIAL.has(c)) return lx.next()!;
    if (!/[\p{L}\p{N}_]/u.test(c)) return name;
    name += lx.next();
  }
}

/** A shell pattern (`*`, `?`, `\x`) as a regular expression source. */
function patternRegex(p: string, greedy: boolean): string {
  let out = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*') out += greedy ? '[\\s\\S]*' : '[\\s\\S]*?';
    else if (c === '?') out += '[\\s\\S]';
    else if (c === '\\') {
      const n = p[i + 1];
      if (n === '}' || n === '/') continue;
      if (n !== '*' && n !== '?' && n !== '\\') throw new LexError(`invalid pattern (${p}) in substitution: invalid escape '\\${n ?? ''}'`);
      out += `\\${n}`;
      i++;
    } else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return out;
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = new RegExp(`^(?:${patternRegex(pattern, greedy)})`).exec(value);
  return m ? value.slice(m[0].length) : value;
}

function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  // The shortest (or longest) suffix: try each start, from the end (shortest) or the start (longest).
  const re = new RegExp(`^(?:${patternRegex(pattern, true)})$`);
  if (greedy) {
    for (let k = 0; k <= value.length; k++) if (re.test(value.slice(k))) return value.slice(0, k);
  } else {
    for (let k = value.length; k >= 0; k--) if (re.test(value.slice(k))) return value.slice(0, k);
  }
  return value;
}

function processDollar(lx: Lexer): string {
  lx.next();
  if (lx.peek() !== '{') {
    const name = processName(lx);
    if (name === '') return '$';
    return lx.get(name) ?? '';
  }
  lx.next();
  const first = lx.peek();
  if (first === undefined) throw new LexError("syntax error: missing '}'");
  if (first === '{' || first === '}' || first === ':') throw new LexError('syntax error: bad substitution');
  const name = processName(lx);
  let ch = lx.next();
  let chs = ch ?? '\uFFFD';
  if (ch === '}') return lx.get(name) ?? '';
  if (ch === '/') {
    const all = lx.peek() === '/';
    if (all) lx.next();
    let pattern: string;
    let repl: string;
    try {
      pattern = processStopOn(lx, '/', true).text;
    } catch (err) {
      if (lx.peek() === undefined) throw new LexError("syntax error: missing '/' in ${}");
      throw err;
    }
    try {
      repl = processStopOn(lx, '}', true).text;
    } catch (err) {
      if (lx.peek() === undefined) throw new LexError("syntax error: missing '}'");
      throw err;
    }
    const value = lx.get(name) ?? '';
    const re = new RegExp(patternRegex(pattern, true), all ? 'g' : '');
    return value.replace(re, () => repl);
  }
  let nullIsUnset = false;
  if (ch === ':') {
    nullIsUnset = true;
    ch = lx.next();
    chs += ch ?? '';
  }
  if (ch === undefined || !'+-?#%'.includes(ch)) throw new LexError(`unsupported modifier (${chs}) in substitution`);
  const rawEscapes = ch === '#' || ch === '%';
  if (nullIsUnset && rawEscapes) throw new LexError(`unsupported modifier (${chs}) in substitution`);
  let word: string;
  try {
    word = processStopOn(lx, '}', rawEscapes).text;
  } catch (err) {
    if (lx.peek() === undefined) throw new LexError("syntax error: missing '}'");
    throw err;
  }
  const value = lx.get(name);
  const set = value !== undefined;
  const empty = !set || (nullIsUnset && value === '');
  switch (ch) {
    case '-':
      return empty ? word : value!;
    case '+':
      return empty ? '' : word;
    case '?':
      if (!set) throw new LexError(`${name}: ${word || 'is not allowed to be unset'}`);
      if (nullIsUnset && value === '') throw new LexError(`${name}: ${word || 'is not allowed to be empty'}`);
      return value!;
    default: {
      const greedy = word[0] === ch;
      const pat = greedy ? word.slice(1) : word;
      return ch === '%' ? trimSuffix(pat, value ?? '', greedy) : trimPrefix(pat, value ?? '', greedy);
    }
  }
}

function run<T>(text: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof LexError) throw new SkiffError('INVALID_ARGUMENT', `failed to process "${text}": ${err.message}`);
    throw err;
  }
}

/** One word (BuildKit's ProcessWord): the whole text expanded, quotes removed, whitespace kept. */
export function expandWord(text: string, lookup: Lookup, escape = '\\', o: ExpandOptions | Set<string> = {}): string {
  const opts = o instanceof Set ? { used: o } : o;
  return run(text, () => processStopOn(new Lexer(text, escape, lookup, opts), undefined, false).text);
}

/**
 * Words (BuildKit's ProcessWords, used for EXPOSE): split at unquoted whitespace, a variable's
 * value split too.
 */
export function expandWords(text: string, lookup: Lookup, escape = '\\', used?: Set<string>): string[] {
  return run(text, () => processStopOn(new Lexer(text, escape, lookup, used ? { used } : {}), undefined, false).words);
}

/**
 * The Dockerfile parser's word split (parseWords): at unquoted whitespace, quotes and escapes
 * kept for a later expandWord.
 */
export function splitRaw(text: string, escape = '\\'): string[] {
  const words: string[] = [];
  let cur = '';
  let quote = '';
  let has = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === escape && quote !== "'") {
        if (i + 1 === text.length) { quote = ''; continue; }
        cur += c + text[++i]!;
        continue;
      }
      cur += c;
      if (c === quote) quote = '';
      continue;
    }
    if (/\s/.test(c)) {
      if (has) words.push(cur);
      cur = '';
      has = false;
      continue;
    }
    has = true;
    if (c === escape) {
      if (i + 1 === text.length) continue;
      cur += c + text[++i]!;
      continue;
    }
    cur += c;
    if (c === '"' || c === "'") quote = c;
  }
  if (has) words.push(cur);
  return words;
}

/** Whitespace split, as the parser does for FROM, EXPOSE, and COPY/ADD/VOLUME in shell form. */
export function splitWhitespace(text: string): string[] {
  return text.trim() === '' ? [] : text.trim().split(/[\t\v\f\r ]+/);
}

/**
 * `KEY=value KEY2="v 2"` (or the old `KEY value words`) for ENV, LABEL: pairs, keys and values
 * expanded, as Docker does.
 */
export function parseKeyValues(text: string, lookup: Lookup, escape: string, what: string, used?: Set<string>): Array<[string, string]> {
  const words = splitRaw(text, escape);
  if (words.length === 0) throw new SkiffError('INVALID_ARGUMENT', `${what} requires at least one argument`);
  const ex = (w: string): string => expandWord(w, lookup, escape, used ? { used } : {});
  let pairs: Array<[string, string]>;
  if (!words[0]!.includes('=')) {
    // Old form: the first whitespace-delimited part is the key, the rest of the line the value.
    const m = /^(\S+)[\t\v\f\r ]+([\s\S]*)$/.exec(text.trim());
    if (!m) throw new SkiffError('INVALID_ARGUMENT', `${what} must have two arguments`);
    pairs = [[m[1]!, m[2]!]];
  } else {
    pairs = words.map((w) => {
      const eq = w.indexOf('=');
      if (eq < 0) throw new SkiffError('INVALID_ARGUMENT', `Syntax error - can't find = in "${w}". Must be of the form: name=value`);
      return [w.slice(0, eq), w.slice(eq + 1)];
    });
  }
  return pairs.map(([k, v]) => {
    if (k === '') throw new SkiffError('INVALID_ARGUMENT', `${what} names can not be blank`);
    return [ex(k), ex(v)];
  });
}
