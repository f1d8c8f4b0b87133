/**
 * Text a terminal must not interpret. Image metadata (`created_by`, comments, tags, Cmd), file
 * names, container names and the user's own input reach the CLI's and the browser terminal's
 * output; an ESC in any of them could retitle the window, clear the screen, hide text or (in some
 * terminals) answer queries with keystrokes. Every such string goes through `displayText` (or
 * `displayJson`) before it is printed: controls become visible escapes, everything else is kept.
 * A container's own stdout/stderr (run, logs, exec) is not touched: that is its terminal.
 */

/** C0 controls (but tab and newline, handled by the caller's choice), DEL, C1 controls. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
/** Bidirectional overrides and isolates, which reorder what is shown (Trojan Source). */
const BIDI = /[\u202a-\u202e\u2066-\u2069]/g;

function hex(c: string): string {
  const n = c.charCodeAt(0);
  return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
}

/**
 * `text` with every control character shown as `\xNN` (bidi controls as `\uNNNN`). With
 * `multiline`, newlines and tabs stay (error messages, multi-line usage); without it they are
 * escaped too, so one value stays on one line (table cells, template fields).
 */
export function displayText(text: string, o: { multiline?: boolean } = {}): string {
  let out = text.replace(CONTROL, hex).replace(BIDI, hex);
  if (!o.multiline) out = out.replace(/[\t\n]/g, hex);
  return out;
}

/**
 * JSON for a terminal: `JSON.stringify` already escapes C0 controls, but not DEL, the C1 range
 * (U+009B is a one-byte CSI for some terminals) or bidi controls; this escapes those too, so the
 * text is still valid JSON that parses back to the same values.
 */
export function displayJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(/[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
