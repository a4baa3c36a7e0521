/**
 * What a request sent must never act on the screen that shows it. Subs, user agents, referers,
 * types, txids and stored answers come from anonymous requests; printed raw, an ESC or CSI
 * sequence can clear or rewrite the operator's terminal (ANSI/OSC), and a bidirectional
 * override can make a line read differently from what it is.
 *
 * `terminalSafe` replaces every C0 and C1 control character and every bidirectional control
 * with a visible escape (`\x1b`, `\u202e`); `terminalJson` is JSON.stringify with the same
 * characters escaped as `\uXXXX` (still valid JSON, same values). Every CLI prints through them.
 */

/** C0 (except the ones handled by the caller's layout), DEL, C1, bidi controls, line/paragraph separators. */
// eslint-disable-next-line no-control-regex
export const UNSAFE_FOR_TERMINAL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;

// eslint-disable-next-line no-control-regex
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;

function visible(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One value (a cell, a field) made harmless for a terminal: no control character survives, not even a newline. */
export function terminalSafe(value: unknown): string {
  return String(value).replace(UNSAFE_FOR_TERMINAL, visible);
}

/** Several lines made harmless: each line is neutralized, the line breaks between them are kept. */
export function terminalSafeLines(text: string): string {
  return text.split('\n').map(terminalSafe).join('\n');
}

/**
 * JSON for a terminal: JSON.stringify already escapes C0; this also escapes DEL, C1 and the
 * bidirectional controls as \uXXXX, so the output parses to exactly the same values.
 */
export function terminalJson(value: unknown, space: number = 2): string {
  return JSON.stringify(value, null, space).replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
