import { blockListOf, createProtection, ipAllowed, secretEquals } from '../../lambda/core/protection';

describe('postback protection', () => {
  const protect = createProtection({
    required: true,
    sources: [
      { id: 'ds24', keys: async () => ['new-key-2026', 'old-key-2025'], allowedIps: ['203.0.113.0/24', '2001:db8::/32'] },
      { id: 'custom', keys: async () => ['custom-key'] },
    ],
  });

  it('accepts any of a source\'s keys (rotation) from an allowed address', async () => {
    // keyIndex says which of the source's keys matched (its position), never the key: rotation can be watched.
    expect(await protect('new-key-2026', '203.0.113.7')).toEqual({ ok: true, source: 'ds24', keyIndex: 0 });
    expect(await protect('old-key-2025', '2001:db8::1')).toEqual({ ok: true, source: 'ds24', keyIndex: 1 });
    expect(await protect('custom-key', '198.51.100.1')).toEqual({ ok: true, source: 'custom', keyIndex: 0 });
  });

  it('refuses a missing key, a wrong key, and an address outside the allowlist', async () => {
    expect(await protect(undefined, '203.0.113.7')).toMatchObject({ ok: false, reason: 'missing_key' });
    expect(await protect('new-key-2027', '203.0.113.7')).toMatchObject({ ok: false, reason: 'bad_key' });
    expect(await protect('new-key-202', '203.0.113.7')).toMatchObject({ ok: false, reason: 'bad_key' });
    expect(await protect('new-key-2026', '198.51.100.1')).toMatchObject({ ok: false, reason: 'ip_not_allowed' });
    expect(await protect('new-key-2026', undefined)).toMatchObject({ ok: false, reason: 'ip_not_allowed' });
  });

  it('quotes a refused address only as ipStorage allows it to be stored (the answer goes to the inbound log)', async () => {
    const sources = [{ id: 'ds24', keys: async () => ['k'], allowedIps: ['203.0.113.0/24'] }];
    const answer = async (ipStorage: 'full' | 'truncated' | 'none', ip: string) => {
      const result = await createProtection({ required: true, sources }, ipStorage)('k', ip);
      if (result.ok) throw new Error('expected a refusal');
      return result.message;
    };
    expect(await answer('full', '198.51.100.77')).toBe('Forbidden: 198.51.100.77 may not send postbacks for source ds24. Nothing was recorded.');
    expect(await answer('truncated', '198.51.100.77')).toBe('Forbidden: an address in 198.51.100.0/24 may not send postbacks for source ds24. Nothing was recorded.');
    expect(await answer('truncated', '2001:db8:aaaa:bbbb::1')).toBe('Forbidden: an address in 2001:db8:aaaa::/48 may not send postbacks for source ds24. Nothing was recorded.');
    expect(await answer('none', '198.51.100.77')).toBe('Forbidden: this address may not send postbacks for source ds24. Nothing was recorded.');
    // The default is the config's default (truncated): never the full address.
    const refused = await createProtection({ required: true, sources })('k', '198.51.100.77');
    expect(JSON.stringify(refused)).not.toContain('198.51.100.77');
  });

  it('lets postbacks without a key through when keys are not required, but still checks a given key', async () => {
    const optional = createProtection({ required: false, sources: [{ id: 's', keys: async () => ['k'] }] });
    expect(await optional(undefined, undefined)).toEqual({ ok: true });
    expect(await optional('wrong', undefined)).toMatchObject({ ok: false, reason: 'bad_key' });
  });

  it('says the keys are unavailable (503, retry) rather than forbidden when none can be read', async () => {
    const broken = createProtection({ required: true, sources: [{ id: 's', keys: async () => { throw new Error('AccessDenied'); } }] });
    expect(await broken('k', undefined)).toMatchObject({ ok: false, reason: 'keys_unavailable' });
    const unset = createProtection({ required: true, sources: [{ id: 's', keys: async () => [undefined] }] });
    expect(await unset('k', undefined)).toMatchObject({ ok: false, reason: 'keys_unavailable' });
  });

  it('compares secrets exactly, whatever their lengths', () => {
    expect(secretEquals('abc', 'abc')).toBe(true);
    expect(secretEquals('abc', 'abcd')).toBe(false);
    expect(secretEquals('', 'a')).toBe(false);
    const list = blockListOf(['10.0.0.1']);
    expect(ipAllowed('10.0.0.1', list)).toBe(true);
    expect(ipAllowed('10.0.0.2', list)).toBe(false);
    expect(ipAllowed('not-ip', list)).toBe(false);
  });
});
