import { idTime, mintId } from '../../lambda/core/ids';

describe('mintId', () => {
  it('is a 26-character URL-safe ULID carrying its time', () => {
    const id = mintId(1795600000123);
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(encodeURIComponent(id)).toBe(id);
    expect(idTime(id)).toBe(1795600000123);
  });

  it('sorts by time', () => {
    const ids = [5, 1, 1795600000000, 300, 2 ** 40].map((t) => mintId(t));
    const byTime = [...ids].sort((a, b) => (idTime(a) ?? 0) - (idTime(b) ?? 0));
    expect([...ids].sort()).toEqual(byTime);
  });

  it('spends 80 random bits: every random byte changes the id', () => {
    const zero = Buffer.alloc(10);
    const base = mintId(0, zero);
    for (let i = 0; i < 10; i++) {
      const r = Buffer.alloc(10);
      r[i] = 1;
      expect(mintId(0, r)).not.toBe(base);
    }
    expect(mintId(0, Buffer.alloc(10, 0xff)).slice(10)).toBe('ZZZZZZZZZZZZZZZZ');
  });

  it('does not repeat in 100,000 draws', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) seen.add(mintId(1795600000000));
    expect(seen.size).toBe(100_000);
  });
});
