import { storableIp } from '../../lambda/core/ip';

describe('storableIp', () => {
  it('keeps, truncates or drops per policy', () => {
    expect(storableIp('198.51.100.23', 'full')).toBe('198.51.100.23');
    expect(storableIp('198.51.100.23', 'truncated')).toBe('198.51.100.0');
    expect(storableIp('198.51.100.23', 'none')).toBeUndefined();
    expect(storableIp('2001:db8:85a3:8d3:1319:8a2e:370:7348', 'truncated')).toBe('2001:db8:85a3::');
    expect(storableIp('2001:db8::1', 'truncated')).toBe('2001:db8:0::');
    expect(storableIp('::1', 'truncated')).toBe('0:0:0::');
  });

  it('stores nothing that is not an IP address', () => {
    expect(storableIp('not-an-ip', 'full')).toBeUndefined();
    expect(storableIp(undefined, 'full')).toBeUndefined();
  });
});
