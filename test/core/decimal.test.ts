import { decimalFromNumberText, formatMicros, fromMicros, negate, parseDecimal, toMicros } from '../../lambda/core/decimal';

describe('parseDecimal', () => {
  it.each([
    ['47', '47'],
    ['47.00', '47'],
    ['-47.00', '-47'],
    ['0.05', '0.05'],
    ['007.50', '7.5'],
    ['-0.00', '0'],
    ['123456789012.123456', '123456789012.123456'],
  ])('reads %s as %s', (text, canonical) => {
    expect(parseDecimal(text)).toBe(canonical);
  });

  it.each(['', 'abc', '47,00', '1e3', '0x10', '4 7', '47.', '.5', '1.1234567', '1234567890123', 'NaN', 'Infinity', '--1'])(
    'refuses %p',
    (text) => {
      expect(parseDecimal(text)).toBeUndefined();
    },
  );
});

describe('micro-unit arithmetic', () => {
  it('sums without float error', () => {
    const total = ['0.1', '0.2', '-0.3', '47', '-47'].map(toMicros).reduce((a, b) => a + b, 0n);
    expect(fromMicros(total)).toBe('0');
    expect(fromMicros(toMicros('0.1') + toMicros('0.2'))).toBe('0.3');
  });

  it('round-trips negative values and formats with two decimals', () => {
    expect(fromMicros(toMicros('-23.5'))).toBe('-23.5');
    expect(formatMicros(toMicros('-23.505'))).toBe('-23.51');
    expect(formatMicros(toMicros('0.004'))).toBe('0.00');
    expect(formatMicros(toMicros('-0.004'))).toBe('0.00');
    expect(negate('0')).toBe('0');
  });
});

describe('number text as DynamoDB returns it', () => {
  it.each([
    ['47', '47'],
    ['-47.50', '-47.5'],
    ['90071992547409.93', '90071992547409.93'],
    ['1.5E+3', '1500'],
    ['-2.5e-4', '-0.00025'],
    ['0.000', '0'],
    ['-0', '0'],
    ['007.10', '7.1'],
    ['.5', '0.5'],
  ])('%s -> %s, without a float', (text, decimal) => {
    expect(decimalFromNumberText(text)).toBe(decimal);
  });

  it.each(['', 'abc', '1.2.3', 'NaN', '1e', '+'])('refuses %j', (text) => {
    expect(() => decimalFromNumberText(text)).toThrow(/not a number/);
  });
});
