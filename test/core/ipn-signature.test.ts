import { htmlDecode, ipnSignature, verifyIpnSignature } from '../../lambda/core/ipn-signature';
import { APPKIT_VECTORS, IPN_FIXTURES, IPN_VARIANT_FIXTURES, fixture, referenceSign, referenceSigned, signed } from '../support/ipn';

const fields = (form: Record<string, string>) => new Map(Object.entries(form));

describe('Digistore24 IPN signature', () => {
  describe("Digistore24's published vectors (ds24-appkit lib/digistore/ipn-vectors.json)", () => {
    it('holds the traps worth freezing, including the real 173-field capture', () => {
      const names = APPKIT_VECTORS.vectors.map((v) => v.name);
      expect(names).toEqual(expect.arrayContaining(['utf8-value', 'uppercase-keys', 'empty-values-skipped', 'sha-sign-excluded', 'captured-on-payment']));
      expect(Object.keys(APPKIT_VECTORS.vectors.find((v) => v.name === 'captured-on-payment')?.params ?? {})).toHaveLength(173);
    });

    it.each(APPKIT_VECTORS.vectors.map((v) => [v.name, v] as const))('reproduces and verifies "%s"', (_name, v) => {
      expect(ipnSignature(fields(v.params), APPKIT_VECTORS.passphrase, v.uppercaseKeys)).toBe(v.expected);
      const { sha_sign: _s, ...params } = v.params;
      const check = verifyIpnSignature(fields({ ...params, sha_sign: v.expected }), APPKIT_VECTORS.passphrase);
      expect(check).toMatchObject({ valid: true, variant: v.uppercaseKeys ? 'upper_case_keys' : 'as_sent' });
      expect(verifyIpnSignature(fields({ ...params, sha_sign: v.expected }), 'another passphrase')).toEqual({ valid: false, reason: 'bad_signature' });
    });
  });

  describe('our vectors for the variants Digistore24 publishes none for (test/fixtures/digistore24-ipn-variants.json)', () => {
    it.each(IPN_VARIANT_FIXTURES.map((f) => [f.name, f] as const))('verifies "%s" in its variant', (_name, f) => {
      const upper = f.variant?.startsWith('upper_case_keys') === true;
      const decode = f.variant?.endsWith('html_decoded') === true;
      // The fixture agrees with the independent signer in this test ...
      expect(referenceSign(f.form, f.passphrase, { upper, decode })).toBe(f.form.sha_sign);
      // ... and with ours.
      expect(ipnSignature(fields(f.form), f.passphrase, upper, decode)).toBe(f.form.sha_sign);
      expect(verifyIpnSignature(fields(f.form), f.passphrase)).toMatchObject({ valid: true, variant: f.variant });
    });

    it('covers every variant and a realistic full IPN', () => {
      expect(new Set(IPN_VARIANT_FIXTURES.map((f) => f.variant))).toEqual(new Set(['as_sent', 'upper_case_keys', 'html_decoded', 'upper_case_keys_html_decoded']));
      const full = fixture('full on_payment with click_id (173 fields, as sent)');
      expect(Object.keys(full.form).length).toBeGreaterThanOrEqual(100);
      expect(full.form.click_id).toMatch(/^[0-9A-Z]{30}$/);
      expect(full.form.product_name).toMatch(/[^\x00-\x7f]/);
    });
  });

  it('decodes HTML exactly as the reference does: five entities, one after the other', () => {
    expect(htmlDecode('Tee &amp; Kräuter &quot;Gold&quot; &lt;b&gt; &#039;x&#39; &apos;y&apos;')).toBe(`Tee & Kräuter "Gold" <b> 'x' 'y'`);
    expect(htmlDecode('A &amp;lt;b&amp;gt; B')).toBe('A <b> B');
    // Not decoded by the reference, so not by us either.
    expect(htmlDecode('&auml; &#228; &euro; &nbsp;')).toBe('&auml; &#228; &euro; &nbsp;');
  });

  describe('what the core reads is what was signed', () => {
    const base = { event: 'on_payment', api_mode: 'test', transaction_id: '777', amount_netto: '10.00', product_name: 'Tee &amp; Co' };

    it('as sent: the raw values, names exactly as sent', () => {
      const check = verifyIpnSignature(fields(referenceSigned(base, 'pp')), 'pp');
      if (!check.valid) throw new Error('not valid');
      expect(check.variant).toBe('as_sent');
      expect(check.fields.get('product_name')).toBe('Tee &amp; Co');
      expect(check.fields.get('API_MODE')).toBeUndefined();
    });

    it('HTML-decoded: the decoded values', () => {
      const check = verifyIpnSignature(fields(referenceSigned(base, 'pp', { decode: true })), 'pp');
      if (!check.valid) throw new Error('not valid');
      expect(check.variant).toBe('html_decoded');
      expect(check.fields.get('product_name')).toBe('Tee & Co');
    });

    it('upper-case keys: a renamed key reads the same, so renaming changes nothing recorded', () => {
      const form = referenceSigned(base, 'pp', { upper: true });
      const { api_mode, transaction_id, ...rest } = form;
      const renamed = { ...rest, API_MODE: String(api_mode), Transaction_ID: String(transaction_id) };
      const check = verifyIpnSignature(fields(renamed), 'pp');
      if (!check.valid) throw new Error('not valid');
      expect(check.variant).toBe('upper_case_keys');
      expect(check.fields.get('api_mode')).toBe('test');
      expect(check.fields.get('transaction_id')).toBe('777');
      expect(Object.fromEntries(check.fields.entries())).toMatchObject({ api_mode: 'test', transaction_id: '777' });
    });

    it('refuses a body whose keys collide when upper-cased (the rename attack)', () => {
      const form = referenceSigned(base, 'pp', { upper: true });
      // A second api_mode in another case: which one was signed cannot be told.
      expect(verifyIpnSignature(fields({ ...form, API_MODE: 'live' }), 'pp')).toMatchObject({ valid: false, reason: 'key_collision' });
      expect(verifyIpnSignature(fields({ ...form, API_MODE: '' }), 'pp')).toMatchObject({ valid: false, reason: 'key_collision' });
      // Unicode case folding is not ASCII upper-casing: `ı` stays, so this is a different, unsigned key.
      const { transaction_id: t, ...rest } = form;
      expect(verifyIpnSignature(fields({ ...rest, 'transaction_ıd': String(t) }), 'pp')).toEqual({ valid: false, reason: 'bad_signature' });
    });

    it('upper-case keys + HTML-decoded: decoded values, case-insensitive names', () => {
      const check = verifyIpnSignature(fields(referenceSigned(base, 'pp', { upper: true, decode: true })), 'pp');
      if (!check.valid) throw new Error('not valid');
      expect(check.variant).toBe('upper_case_keys_html_decoded');
      expect(check.fields.get('PRODUCT_NAME')).toBe('Tee & Co');
    });

    it('a re-encoded value breaks the signature it would have to match', () => {
      const form = referenceSigned(base, 'pp', { decode: true });
      expect(verifyIpnSignature(fields({ ...form, product_name: 'Tee &amp;amp; Co' }), 'pp')).toEqual({ valid: false, reason: 'bad_signature' });
      // Decoded the same: accepted, and read as the same decoded value.
      const same = verifyIpnSignature(fields({ ...form, product_name: 'Tee & Co' }), 'pp');
      expect(same).toMatchObject({ valid: true });
      if (same.valid) expect(same.fields.get('product_name')).toBe('Tee & Co');
    });

    it('never hands on a signature field or an empty value', () => {
      const check = verifyIpnSignature(fields({ ...referenceSigned(base, 'pp'), custom: '', Sha_Sign: 'junk' }), 'pp');
      if (!check.valid) throw new Error('not valid');
      expect([...check.fields.entries()].map(([k]) => k).sort()).toEqual(['amount_netto', 'api_mode', 'event', 'product_name', 'transaction_id']);
    });
  });

  it.each(IPN_FIXTURES.map((f) => [f.name, f] as const))('matches the independently signed fixture: %s', (_name, f) => {
    expect(ipnSignature(fields(f.form), f.passphrase)).toBe(f.form.sha_sign);
    expect(verifyIpnSignature(fields(f.form), f.passphrase)).toMatchObject({ valid: true, variant: 'as_sent' });
  });

  it('skips empty values and handles umlauts as UTF-8', () => {
    const f = fixture('refund with umlauts and empty values');
    expect(f.form.address_street).toBe('');
    expect(f.form.address_city).toBe('München');
    expect(verifyIpnSignature(fields({ ...f.form, another_empty: '' }), f.passphrase)).toMatchObject({ valid: true });
  });

  it('refuses a tampered field, a wrong passphrase, and a missing signature', () => {
    const f = fixture('payment with click id in cid');
    expect(verifyIpnSignature(fields({ ...f.form, amount_brutto: '4700.00' }), f.passphrase)).toEqual({ valid: false, reason: 'bad_signature' });
    expect(verifyIpnSignature(fields({ ...f.form, cid: 'OTHERCLICK' }), f.passphrase)).toEqual({ valid: false, reason: 'bad_signature' });
    expect(verifyIpnSignature(fields({ ...f.form, extra: 'x' }), f.passphrase)).toEqual({ valid: false, reason: 'bad_signature' });
    expect(verifyIpnSignature(fields(f.form), 'wrong')).toEqual({ valid: false, reason: 'bad_signature' });
    expect(verifyIpnSignature(fields(f.form), '')).toEqual({ valid: false, reason: 'bad_signature' });
    const { sha_sign: _s, ...unsigned } = f.form;
    expect(verifyIpnSignature(fields(unsigned), f.passphrase)).toEqual({ valid: false, reason: 'missing_signature' });
    expect(verifyIpnSignature(fields({ ...unsigned, sha_sign: 'ABC' }), f.passphrase)).toEqual({ valid: false, reason: 'bad_signature' });
  });

  it('refuses a tampered body in every variant', () => {
    const base = { event: 'on_payment', transaction_id: '9', amount_netto: '47.00', product_name: 'A &amp; B' };
    for (const options of [{}, { upper: true }, { decode: true }, { upper: true, decode: true }]) {
      const form = referenceSigned(base, 'pp', options);
      expect(verifyIpnSignature(fields(form), 'pp')).toMatchObject({ valid: true });
      expect(verifyIpnSignature(fields({ ...form, amount_netto: '4700.00' }), 'pp')).toEqual({ valid: false, reason: 'bad_signature' });
      expect(verifyIpnSignature(fields({ ...form, transaction_id: '' }), 'pp')).toEqual({ valid: false, reason: 'bad_signature' });
    }
  });

  it('accepts the SHASIGN spelling and a lower-case hex digest', () => {
    const f = fixture('payment with click id in cid');
    const { sha_sign, ...rest } = f.form;
    expect(verifyIpnSignature(fields({ ...rest, SHASIGN: String(sha_sign) }), f.passphrase)).toMatchObject({ valid: true });
    expect(verifyIpnSignature(fields({ ...rest, sha_sign: String(sha_sign).toLowerCase() }), f.passphrase)).toMatchObject({ valid: true });
  });

  it('verifies forms signed with another passphrase', () => {
    const form = signed({ event: 'on_payment', transaction_id: '1', cid: 'X', product_name: 'Grüner Tee & Co' }, 'another-Passphrase_2');
    expect(verifyIpnSignature(fields(form), 'another-Passphrase_2')).toMatchObject({ valid: true });
    expect(verifyIpnSignature(fields(form), 'Zx9-public-example')).toEqual({ valid: false, reason: 'bad_signature' });
  });
});
