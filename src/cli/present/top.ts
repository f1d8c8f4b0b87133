/**
 * `top`'s table. Docker runs `ps` on the host, so its output never lists `ps` itself; skiff runs it
 * inside the container (no host `ps` sees the guest's processes) and drops that one row.
 */

/** `ps` output without the row of the `ps` that printed it (the last one whose command is exactly `argv`). */
export function withoutOwnPs(text: string, argv: readonly string[]): string {
  const lines = text.split('\n');
  const own = argv.join(' ');
  // Its command is the last column; the header line (0) is never it.
  for (let i = lines.length - 1; i > 0; i--) {
    const line = lines[i]!.trimEnd();
    if (line.endsWith(` ${own}`) && /^\s*\S/.test(line)) {
      lines.splice(i, 1);
      break;
    }
  }
  return lines.join('\n');
}
