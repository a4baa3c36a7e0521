import { chmodSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureLocalPostbackKey, readLocalPostbackKey } from '../../lambda/local/postback-key';
import { digistore24Urls, urlKeyRef } from '../../lambda/core/urls';

const dir = () => mkdtempSync(join(tmpdir(), 'cv-key-'));

describe('the local generated postback key', () => {
  it('is made once (256 random bits, URL-safe, owner-only) and then read back', () => {
    const d = join(dir(), 'nested', 'data');
    const made = ensureLocalPostbackKey(d);
    expect(made).toMatchObject({ created: true, path: join(d, 'postback-key') });
    expect(made.key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(made.path).mode & 0o777).toBe(0o600);
    expect(ensureLocalPostbackKey(d)).toEqual({ ...made, created: false });
    expect(ensureLocalPostbackKey(dir()).key).not.toBe(made.key);
  });

  it('tightens a key file others can read, and refuses one that holds no key', () => {
    const d = dir();
    writeFileSync(join(d, 'postback-key'), `${'k'.repeat(40)}\n`);
    chmodSync(join(d, 'postback-key'), 0o644);
    expect(readLocalPostbackKey(d)).toBe('k'.repeat(40));
    expect(statSync(join(d, 'postback-key')).mode & 0o777).toBe(0o600);
    writeFileSync(join(d, 'postback-key'), 'short');
    expect(() => readLocalPostbackKey(d)).toThrow(/does not hold a postback key .* delete it and a new one is made/);
    expect(readLocalPostbackKey(dir())).toBeUndefined();
  });
});

describe('the Digistore24 URLs', () => {
  it('carry the newest key of the first source in the two S2S URLs only, URL-encoded', () => {
    const chosen = urlKeyRef({ required: true, sources: [{ id: 'ds24', keys: [{ generated: true }, { secretsManager: 'new' }] }, { id: 'other', keys: [{ env: 'X' }] }] });
    expect(chosen).toEqual({ source: 'ds24', index: 1, ref: { secretsManager: 'new' } });
    expect(urlKeyRef({ required: false, acknowledgeUnprotected: true })).toBeUndefined();
    const urls = digistore24Urls('https://trk.example.com', { value: 'a b&c' });
    expect(urls.affiliateS2S).toBe('https://trk.example.com/postback?clickid={cid}&sum={amount_affiliate}&currency={currency}&txid={transaction_id}&key=a%20b%26c&type=');
    expect(urls.vendorS2S).toBe('https://trk.example.com/postback?clickid={cid}&sum={amount_netto}&currency={currency}&txid={transaction_id}&key=a%20b%26c&type=');
    expect(urls.pixel).not.toContain('key');
    expect(urls.ipn).not.toContain('key');
  });
});
