/**
 * Quoting request input in an answer (and so in the inbound log and the queue's detail). An
 * answer may name what was wrong, but never echo it raw: the value is cut, and control
 * characters, bidirectional controls and markup characters are removed. Every message that
 * quotes input goes through `quote`.
 */
import { UNSAFE_FOR_TERMINAL } from './terminal-safe';

const MARKUP = /[<>"'`\\]/g;

/** `value` fit to be quoted: at most `max` characters (then `…`), no controls, no markup. */
export function quote(value: string, max = 40): string {
  const clean = value.replace(UNSAFE_FOR_TERMINAL, '').replace(MARKUP, '');
  const chars = [...clean];
  return chars.length > max ? `${chars.slice(0, max).join('')}…` : clean;
}
