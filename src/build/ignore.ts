/**
 * `.dockerignore` as Docker's patternmatcher reads it: one pattern a line, `#` comments, blank
 * lines skipped, each pattern cleaned (leading `/` and `./` dropped); `*` and `?` stay within one
 * path component, `**` spans any number; `!` re-includes. A path is excluded when the last pattern
 * that matches it, or any of its parent directories, is not an exception.
 */
import { SkiffError } from '../errors.ts';
import { cleanRelative } from './context-path.ts';

interface Pattern {
  re: RegExp;
  exclusion: boolean;
}

/**
 * A pattern as moby/patternmatcher compiles it: `*` and `?` within one component, `**` any depth
 * (a following `/` eaten; at the end, anything), `[`/`]` passed to the regexp as written (so
 * `[^a]` negates, `[!a]` does not), `\x` escapes, `.+()|{}$` literal.
 */
function toRegex(pattern: string): RegExp {
  let r = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') i++;
        r += i + 1 >= pattern.length ? '.*' : '(.*/)?';
      } else r += '[^/]*';
    } else if (c === '?') r += '[^/]';
    else if ('.+()|{}$'.includes(c)) r += `\\${c}`;
    else if (c === '\\') r += i + 1 < pattern.length ? `\\${pattern[++i]}` : '\\\\';
    else r += c;
  }
  try {
    return new RegExp(`${r}$`);
  } catch {
    // filepath.ErrBadPattern: a pattern that cannot match.
    return /(?!)/;
  }
}

export class IgnoreMatcher {
  private constructor(private readonly patterns: Pattern[]) {}

  static parse(text: string): IgnoreMatcher {
    const patterns: Pattern[] = [];
    for (const rawLine of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
      // A comment only when `#` is the line's first character (an indented `#` is a pattern).
      if (rawLine.startsWith('#')) continue;
      let line = rawLine.trim();
      if (!line) continue;
      const exclusion = line.startsWith('!');
      if (exclusion) line = line.slice(1).trim();
      if (exclusion && !line) throw new SkiffError('INVALID_ARGUMENT', 'failed to parse .dockerignore: illegal exclusion pattern: "!"');
      const clean = cleanRelative(line);
      if (!clean) continue;
      patterns.push({ re: toRegex(clean), exclusion });
    }
    return new IgnoreMatcher(patterns);
  }

  /** Whether `path` (clean, relative) is left out of the context. */
  ignores(path: string): boolean {
    const parts = path.split('/');
    const parents: string[] = [];
    for (let i = 1; i < parts.length; i++) parents.push(parts.slice(0, i).join('/'));
    let excluded = false;
    for (const p of this.patterns) {
      if (p.re.test(path) || parents.some((d) => p.re.test(d))) excluded = !p.exclusion;
    }
    return excluded;
  }
}
