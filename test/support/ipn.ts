import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ipnSignature } from '../../lambda/core/ipn-signature';

/** Signed example IPNs made by an independent implementation (copied from shared/fixtures). */
export interface IpnFixture {
  name: string;
  passphrase: string;
  form: Record<string, string>;
  variant?: string;
}

const fixtureSchema = z.array(z.object({ name: z.string(), passphrase: z.string(), form: z.record(z.string(), z.string()), variant: z.string().optional() }));

const readFixtures = (file: string): IpnFixture[] => fixtureSchema.parse(JSON.parse(readFileSync(join(__dirname, '../fixtures', file), 'utf8')));

export const IPN_FIXTURES: IpnFixture[] = readFixtures('digistore24-ipn-signed.json');

/**
 * Our own vectors for the variants Digistore24 publishes none for (HTML-decoded, upper-case +
 * decoded) and a realistic 173-field on_payment, written by test/fixtures/make-ds24-variant-vectors.py.
 */
export const IPN_VARIANT_FIXTURES: IpnFixture[] = readFixtures('digistore24-ipn-variants.json');

/** Digistore24's published vectors (ds24-appkit lib/digistore/ipn-vectors.json, MIT; see test/fixtures/README.md). */
export const APPKIT_VECTORS = z
  .object({
    passphrase: z.string(),
    algorithm: z.literal('sha512'),
    vectors: z.array(z.object({ name: z.string(), uppercaseKeys: z.boolean(), params: z.record(z.string(), z.string()), expected: z.string() })),
  })
  .parse(JSON.parse(readFileSync(join(__dirname, '../fixtures/ds24-appkit-ipn-vectors.json'), 'utf8')));

export function fixture(name: string, from: IpnFixture[] = [...IPN_FIXTURES, ...IPN_VARIANT_FIXTURES]): IpnFixture {
  const found = from.find((f) => f.name === name);
  if (!found) throw new Error(`no IPN fixture ${name}`);
  return found;
}

/** Signs a form with our implementation (for forms the fixtures do not cover). */
export function signed(form: Record<string, string>, passphrase: string): Record<string, string> {
  const { sha_sign: _a, SHASIGN: _b, ...rest } = form;
  return { ...rest, sha_sign: ipnSignature(new Map(Object.entries(rest)), passphrase) };
}

/**
 * An independent few-line signer (not our production function), written from Digistore24's
 * description: drop sha_sign/SHASIGN, optionally upper-case keys (ASCII) and HTML-decode
 * values the way ds24-appkit's ipn-verify.mjs does, skip empty values, sort keys as bytes,
 * SHA-512 over key=value+passphrase, upper-case hex.
 */
export function referenceSign(form: Record<string, string>, passphrase: string, options: { upper?: boolean; decode?: boolean } = {}): string {
  const decode = (v: string) =>
    v.split('&amp;').join('&').split('&lt;').join('<').split('&gt;').join('>').split('&quot;').join('"').replace(/&#0?39;|&apos;/g, "'");
  const pairs = Object.entries(form)
    .filter(([k]) => !['SHA_SIGN', 'SHASIGN'].includes(k.toUpperCase()))
    .map(([k, v]) => [options.upper ? k.replace(/[a-z]/g, (c) => c.toUpperCase()) : k, options.decode ? decode(v) : v] as const)
    .filter(([, v]) => v !== '')
    .sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return createHash('sha512').update(pairs.map(([k, v]) => `${k}=${v}${passphrase}`).join(''), 'utf8').digest('hex').toUpperCase();
}

/** Signs a form with the independent signer in a chosen variant. */
export function referenceSigned(form: Record<string, string>, passphrase: string, options: { upper?: boolean; decode?: boolean } = {}): Record<string, string> {
  const { sha_sign: _a, SHASIGN: _b, ...rest } = form;
  return { ...rest, sha_sign: referenceSign(rest, passphrase, options) };
}

export function formBody(form: Record<string, string>): string {
  return new URLSearchParams(form).toString();
}
