/**
 * Paths inside a build context as Docker cleans them. Apart from context.ts because the
 * .dockerignore matcher (ignore.ts), which context.ts uses, needs them too.
 */

/** "./a//b/" -> "a/b"; `..` clamps at the context root, as Docker's does. */
export function cleanRelative(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) continue;
      out.pop();
    } else out.push(part);
  }
  return out.join('/');
}
