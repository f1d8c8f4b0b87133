/**
 * Shell words as POSIX sh splits them, without expansion: blanks separate words; '...' is literal;
 * "..." keeps blanks and honours \" \\ \$ \` escapes; a backslash outside quotes escapes the next
 * character. Used by the terminal's command line and by `<skiff-run cmd="...">`.
 */
import { SkiffError } from '../../errors.ts';

export function splitWords(text: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new SkiffError('INVALID_ARGUMENT', `unterminated single quote at column ${i + 1}: ${text}`);
      cur += text.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      let closed = false;
      while (i < text.length) {
        const d = text[i]!;
        if (d === '"') { closed = true; i++; break; }
        if (d === '\\' && i + 1 < text.length && '"\\$`\n'.includes(text[i + 1]!)) {
          if (text[i + 1] !== '\n') cur += text[i + 1];
          i += 2;
          continue;
        }
        cur += d;
        i++;
      }
      if (!closed) throw new SkiffError('INVALID_ARGUMENT', `unterminated double quote: ${text}`);
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 < text.length && text[i + 1] !== '\n') { cur += text[i + 1]; inWord = true; }
      i += 2;
    } else if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      i++;
    } else {
      cur += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

/** The inverse, for echoing a command back: quotes only the words that need it. */
export function joinWords(words: readonly string[]): string {
  return words.map((w) => (w !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}
