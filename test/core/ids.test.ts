import { campaignCode, campaignPartitions, clickPartition, idTime, mintClickId, mintId } from '../../lambda/core/ids';

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

describe('click ids', () => {
  it('are a ULID plus the campaign code: 30 URL-safe characters, sortable by time', () => {
    const id = mintClickId('demo', 1795600000123);
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{30}$/);
    expect(id.length).toBeLessThanOrEqual(32);
    expect(idTime(id.slice(0, 26))).toBe(1795600000123);
    expect(id.slice(26)).toBe(campaignCode('demo'));
    expect(mintClickId('zzz', 1) < mintClickId('aaa', 2)).toBe(true);
  });

  it('name their partition: the campaign code and one of 32 shards', () => {
    const id = mintClickId('demo');
    expect(clickPartition(id)).toBe(`${campaignCode('demo')}#${id.charAt(25)}`);
    expect(campaignPartitions('demo')).toHaveLength(32);
    expect(campaignPartitions('demo')).toContain(clickPartition(id));
    expect(clickPartition('01JDZ8Q3V6W0K1X2Y3Z4A5B6C7')).toBe('~01JDZ8Q3V6W0K1X2Y3Z4A5B6C7');
    const shards = new Set(Array.from({ length: 2000 }, () => clickPartition(mintClickId('demo'))));
    expect(shards.size).toBe(32);
  });

  it('give campaigns stable, distinct-looking codes', () => {
    expect(campaignCode('demo')).toBe(campaignCode('demo'));
    expect(campaignCode('demo')).not.toBe(campaignCode('demo2'));
    expect(campaignCode('x')).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}$/);
  });
});
