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

/**
 * A number as DynamoDB (or any JSON/number text) spells it — `47`, `-47.50`, `1.5E+3` — as a
 * canonical decimal, with no float in between and no limit on its digits. Throws on text that is
 * not a number.
 */
export function decimalFromNumberText(text: string): string {
  const m = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!m || `${m[2] ?? ''}${m[3] ?? ''}` === '') throw new Error(`not a number: "${text}"`);
  let digits = `${m[2] ?? ''}${m[3] ?? ''}`;
  let point = (m[2] ?? '').length + Number(m[4] ?? 0);
  if (point < 0) {
    digits = '0'.repeat(-point) + digits;
    point = 0;
  }
  if (point > digits.length) digits += '0'.repeat(point - digits.length);
  const intPart = digits.slice(0, point).replace(/^0+(?=\d)/, '') || '0';
  const frac = digits.slice(point).replace(/0+$/, '');
  const zero = /^0+$/.test(`${intPart}${frac}`);
  return `${m[1] === '-' && !zero ? '-' : ''}${intPart}${frac ? `.${frac}` : ''}`;
}
