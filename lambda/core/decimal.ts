/**
 * Money as exact decimals. Amounts travel and are stored as canonical decimal strings
 * ("47", "-47.5", "0.05") and are summed as BigInt micro-units, so no float rounding ever
 * reaches a revenue total.
 */

/** Up to 12 integer digits and 6 decimals, optional leading minus: 47, 47.00, -47.00, 0.5 */
const DECIMAL = /^(-)?(\d{1,12})(?:\.(\d{1,6}))?$/;
const SCALE = 6;

/** Parses a decimal strictly; undefined when the text is not one. */
export function parseDecimal(text: string): string | undefined {
  const m = DECIMAL.exec(text.trim());
  if (!m) return undefined;
  const intPart = (m[2] ?? '0').replace(/^0+(?=\d)/, '');
  const frac = (m[3] ?? '').replace(/0+$/, '');
  const isZero = /^0$/.test(intPart) && frac === '';
  const sign = m[1] && !isZero ? '-' : '';
  return `${sign}${intPart}${frac ? `.${frac}` : ''}`;
}

export function abs(decimal: string): string {
  return decimal.startsWith('-') ? decimal.slice(1) : decimal;
}

export function negate(decimal: string): string {
  if (decimal === '0') return decimal;
  return decimal.startsWith('-') ? decimal.slice(1) : `-${decimal}`;
}

/** Canonical decimal -> micro-units. */
export function toMicros(decimal: string): bigint {
  const negative = decimal.startsWith('-');
  const [intPart = '0', frac = ''] = abs(decimal).split('.');
  const micros = BigInt(intPart) * 10n ** BigInt(SCALE) + BigInt((frac + '000000').slice(0, SCALE));
  return negative ? -micros : micros;
}

/** Micro-units -> canonical decimal. */
export function fromMicros(micros: bigint): string {
  const negative = micros < 0n;
  const a = negative ? -micros : micros;
  const unit = 10n ** BigInt(SCALE);
  const intPart = (a / unit).toString();
  const frac = (a % unit).toString().padStart(SCALE, '0').replace(/0+$/, '');
  const text = `${intPart}${frac ? `.${frac}` : ''}`;
  return negative && text !== '0' ? `-${text}` : text;
}

/** Formats micro-units with a fixed number of decimals (reports). */
export function formatMicros(micros: bigint, decimals = 2): string {
  const negative = micros < 0n;
  const a = negative ? -micros : micros;
  const step = 10n ** BigInt(SCALE - decimals);
  const rounded = (a + step / 2n) / step; // half up, on the absolute value
  const unit = 10n ** BigInt(decimals);
  const text = decimals > 0
    ? `${rounded / unit}.${(rounded % unit).toString().padStart(decimals, '0')}`
    : `${rounded}`;
  return negative && rounded !== 0n ? `-${text}` : text;
}
