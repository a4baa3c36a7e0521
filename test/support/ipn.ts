import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ipnSignature } from '../../lambda/core/ipn-signature';

/** Signed example IPNs made by an independent implementation (copied from shared/fixtures). */
export interface IpnFixture {
  name: string;
  passphrase: string;
  form: Record<string, string>;
}

const fixtureSchema = z.array(z.object({ name: z.string(), passphrase: z.string(), form: z.record(z.string(), z.string()) }));

export const IPN_FIXTURES: IpnFixture[] = fixtureSchema.parse(
  JSON.parse(readFileSync(join(__dirname, '../fixtures/digistore24-ipn-signed.json'), 'utf8')),
);

export function fixture(name: string): IpnFixture {
  const found = IPN_FIXTURES.find((f) => f.name === name);
  if (!found) throw new Error(`no IPN fixture ${name}`);
  return found;
}

/** Signs a form with our implementation (for forms the fixtures do not cover). */
export function signed(form: Record<string, string>, passphrase: string): Record<string, string> {
  const { sha_sign: _a, SHASIGN: _b, ...rest } = form;
  return { ...rest, sha_sign: ipnSignature(new Map(Object.entries(rest)), passphrase) };
}

export function formBody(form: Record<string, string>): string {
  return new URLSearchParams(form).toString();
}
