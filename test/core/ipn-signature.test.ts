import { ipnSignature, verifyIpnSignature } from '../../lambda/core/ipn-signature';
import { IPN_FIXTURES, fixture, signed } from '../support/ipn';

const fields = (form: Record<string, string>) => new Map(Object.entries(form));

describe('Digistore24 IPN signature', () => {
  it.each(IPN_FIXTURES.map((f) => [f.name, f] as const))('matches the independently signed fixture: %s', (_name, f) => {
    expect(ipnSignature(fields(f.form), f.passphrase)).toBe(f.form.sha_sign);
    expect(verifyIpnSignature(fields(f.form), f.passphrase)).toEqual({ valid: true });
  });

  it('skips empty values and handles umlauts as UTF-8', () => {
    const f = fixture('refund with umlauts and empty values');
    expect(f.form.address_street).toBe('');
    expect(f.form.address_city).toBe('München');
    expect(verifyIpnSignature(fields({ ...f.form, another_empty: '' }), f.passphrase)).toEqual({ valid: true });
  });

  it('refuses a tampered field, a wrong passphrase, and a missing signature', () => {
    const f = fixture('payment with click id in cid');
    expect(verifyIpnSignature(fields({ ...f.form, amount_brutto: '4700.00' }), f.passphrase)).toEqual({ valid: false, reason: 'bad_signature' });
    expect(verifyIpnSignature(fields({ ...f.form, cid: 'OTHERCLICK' }), f.passphrase)).toEqual({ valid: false, reason: 'bad_signature' });
    expect(verifyIpnSignature(fields({ ...f.form, extra: 'x' }), f.passphrase)).toEqual({ valid: false, reason: 'bad_signature' });
    expect(verifyIpnSignature(fields(f.form), 'wrong')).toEqual({ valid: false, reason: 'bad_signature' });
    const { sha_sign: _s, ...unsigned } = f.form;
    expect(verifyIpnSignature(fields(unsigned), f.passphrase)).toEqual({ valid: false, reason: 'missing_signature' });
    expect(verifyIpnSignature(fields({ ...unsigned, sha_sign: 'ABC' }), f.passphrase)).toEqual({ valid: false, reason: 'bad_signature' });
  });

  it('accepts the SHASIGN spelling and a lower-case hex digest', () => {
    const f = fixture('payment with click id in cid');
    const { sha_sign, ...rest } = f.form;
    expect(verifyIpnSignature(fields({ ...rest, SHASIGN: String(sha_sign) }), f.passphrase)).toEqual({ valid: true });
    expect(verifyIpnSignature(fields({ ...rest, sha_sign: String(sha_sign).toLowerCase() }), f.passphrase)).toEqual({ valid: true });
  });

  it('verifies forms signed with another passphrase, and the upper-case-keys mode', () => {
    const form = signed({ event: 'on_payment', transaction_id: '1', cid: 'X', product_name: 'Grüner Tee & Co' }, 'another-Passphrase_2');
    expect(verifyIpnSignature(fields(form), 'another-Passphrase_2')).toEqual({ valid: true });
    expect(verifyIpnSignature(fields(form), 'Zx9-public-example')).toEqual({ valid: false, reason: 'bad_signature' });
    const upper = { event: 'on_refund', transaction_id: '2' };
    const sign = ipnSignature(fields(upper), 'pp', true);
    expect(verifyIpnSignature(fields({ ...upper, sha_sign: sign }), 'pp')).toEqual({ valid: true });
  });
});
