/**
 * `.dockerignore` as Docker's patternmatcher reads it: one pattern a line, `#` comments, blank
 * lines skipped, each pattern cleaned (leading `/` and `./` dropped); `*` and `?` stay within one
 * path component, `**` spans any number; `!` re-includes. A path is excluded when the last pattern
 * that matches it, or any of its parent directories, is not an exception.
 */
import { cleanRelative } from './context-path.ts';

interface Pattern {
  re: RegExp;
  exclusion: boolean;
}

function toRegex(pattern: string): RegExp {
  let r = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        // "**/" matches zero or more directories; a trailing "**" anything.
        if (pattern[i + 1] === '/') {
          i++;
          r += '(.*/)?';
        } else r += '.*';
      } else r += '[^/]*';
    } else if (c === '?') r += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) r += '\\[';
      else {
        const body = pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        r += `[${body}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < pattern.length) r += `\\${pattern[++i]}`;
    else r += c.replace(/[.+^${}()|\]]/g, '\\$&');
  }
  return new RegExp(`${r}$`);
}

export class IgnoreMatcher {
  private constructor(private readonly patterns: Pattern[]) {}

  static parse(text: string): IgnoreMatcher {
    const patterns: Pattern[] = [];
    for (const rawLine of text.split(/\r?\n/)) {
      let line = rawLine.trim();
      if (!line || line.startsWith('#')) continue;
      const exclusion = line.startsWith('!');
      if (exclusion) line = line.slice(1).trim();
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
