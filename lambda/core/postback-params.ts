/**
 * Reads and validates postback parameters from the query string and the body (form-encoded or
 * JSON). Every refusal names the parameter and the reason.
 */
import { acceptedCurrency } from './currencies';
import { parseDecimal } from './decimal';
import type { RawRequest } from './model';
import { quote } from './quote';

export const POSTBACK_LIMITS = {
  /** Largest body accepted (bytes of UTF-8 text). */
  body: 16 * 1024,
  /** Largest value of any one parameter. */
  value: 1024,
  clickId: 64,
  type: 64,
  txid: 128,
  status: 32,
} as const;

export interface PostbackParams {
  /** Undefined: no click id was sent (an unattributed conversion). */
  clickId?: string;
  type?: string;
  /** Canonical decimal, as sent (sign applied later from the type). */
  sum: string;
  currency?: string;
  txid?: string;
  status?: string;
  isTest: boolean;
  /** Why this is a test postback, when it is one. */
  testReason?: string;
  format?: 'img';
}

export class InvalidInput extends Error {
  /** The parameter's name, quoted (a request may choose any name: it is cut and cleaned). */
  readonly parameter: string;

  constructor(
    parameter: string,
    readonly problem: string,
  ) {
    const name = quote(parameter, 64);
    super(`${name}: ${problem}`);
    this.parameter = name;
    this.name = 'InvalidInput';
  }
}

const ALIASES: Record<string, string[]> = {
  clickid: ['clickid', 'cid'],
  type: ['type'],
  sum: ['sum', 'amount', 'payout'],
  currency: ['currency'],
  txid: ['txid', 'transaction_id', 'order_id'],
  status: ['status'],
  is_test: ['is_test'],
  format: ['format'],
};

const CLICK_ID = /^[A-Za-z0-9._,-]+$/;
const TYPE = /^[A-Za-z0-9 _.:-]+$/;
const TXID = /^[A-Za-z0-9._:,-]+$/;
const STATUS = /^[A-Za-z0-9_-]+$/;
/** A macro the sender did not replace: {cid}, __cid__, [cid], %cid%, #cid#. */
const PLACEHOLDER = /^(\{[^{}]*\}|__[A-Za-z0-9_]*__|\[[^[\]]*\]|%[A-Za-z0-9_]+%|#[A-Za-z0-9_]+#)$/;

export function isPlaceholder(value: string): boolean {
  return PLACEHOLDER.test(value);
}

/** Every parameter of the request, from the query and the body; a name given twice with two values is refused. */
export function collectParams(request: RawRequest): Map<string, string> {
  const params = new Map<string, string>();
  const add = (name: string, value: unknown, where: string) => {
    // The postback key is the handler's (authentication), never a parameter: it must not be
    // parsed, compared or quoted in an answer, which is logged.
    if (name === 'key') return;
    if (value === undefined || value === null) return;
    if (typeof value === 'object') throw new InvalidInput(name, `must be a plain value in the ${where}, not an object or list`);
    const text = String(value);
    if (text.length > POSTBACK_LIMITS.value) {
      throw new InvalidInput(name, `is ${text.length} characters long; at most ${POSTBACK_LIMITS.value} are accepted`);
    }
    const previous = params.get(name);
    if (previous !== undefined && previous !== text) {
      throw new InvalidInput(name, `was given twice with different values ("${quote(previous)}" and "${quote(text)}")`);
    }
    params.set(name, text);
  };
  for (const [name, value] of new URLSearchParams(request.query)) add(name, value, 'query');

  if (request.body !== '') {
    if (Buffer.byteLength(request.body, 'utf8') > POSTBACK_LIMITS.body) {
      throw new InvalidInput('body', `is larger than ${POSTBACK_LIMITS.body} bytes`);
    }
    const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (type === 'application/json' || (type === '' && request.body.trimStart().startsWith('{'))) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(request.body);
      } catch {
        throw new InvalidInput('body', 'is not valid JSON');
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new InvalidInput('body', 'must be a JSON object of parameters');
      }
      for (const [name, value] of Object.entries(parsed)) add(name, value, 'JSON body');
    } else if (type === 'application/x-www-form-urlencoded' || type === '' || type === 'text/plain') {
      for (const [name, value] of new URLSearchParams(request.body)) add(name, value, 'body');
    } else {
      throw new InvalidInput('content-type', `"${quote(type)}" is not supported; send form-encoded or JSON`);
    }
  }
  return params;
}

/** One logical parameter from its aliases; two aliases with different values are refused. */
function pick(params: Map<string, string>, logical: string): { name: string; value: string } | undefined {
  let found: { name: string; value: string } | undefined;
  for (const name of ALIASES[logical] ?? [logical]) {
    const value = params.get(name);
    if (value === undefined) continue;
    const trimmed = value.trim();
    if (found && trimmed !== '' && found.value !== '' && found.value !== trimmed) {
      throw new InvalidInput(name, `conflicts with ${found.name} ("${quote(trimmed)}" vs "${quote(found.value)}")`);
    }
    if (!found || found.value === '') found = { name, value: trimmed };
  }
  return found;
}

function checked(
  found: { name: string; value: string } | undefined,
  pattern: RegExp,
  max: number,
  allowed: string,
): string | undefined {
  if (!found || found.value === '') return undefined;
  if (found.value.length > max) throw new InvalidInput(found.name, `is longer than ${max} characters`);
  if (!pattern.test(found.value)) throw new InvalidInput(found.name, `"${quote(found.value)}" has characters other than ${allowed}`);
  return found.value;
}

export interface ParseOptions {
  /** The config's `defaults.currencies`: when set, only these currencies are accepted. */
  currencies?: ReadonlySet<string>;
}

/** Parses and validates a postback. Throws InvalidInput naming the parameter at fault. */
export function parsePostback(request: RawRequest, options: ParseOptions = {}): PostbackParams {
  const params = collectParams(request);
  const format = pick(params, 'format');
  const out: PostbackParams = { sum: '0', isTest: false };
  if (format && format.value !== '') {
    if (format.value !== 'img') throw new InvalidInput('format', `"${quote(format.value)}" is not supported; use format=img for the pixel`);
    out.format = 'img';
  }

  const isTest = pick(params, 'is_test');
  if (isTest && /^(1|true|yes|y|on)$/i.test(isTest.value)) {
    out.isTest = true;
    out.testReason = `${isTest.name}=${isTest.value}`;
  }

  const clickId = pick(params, 'clickid');
  if (clickId && isPlaceholder(clickId.value)) {
    out.isTest = true;
    out.testReason ??= `${clickId.name} is the unreplaced placeholder ${clickId.value}`;
  } else {
    const value = checked(clickId, CLICK_ID, POSTBACK_LIMITS.clickId, 'letters, digits and . , _ -');
    if (value !== undefined) out.clickId = value;
  }

  const type = pick(params, 'type');
  if (type && isPlaceholder(type.value)) {
    out.isTest = true;
    out.testReason ??= `type is the unreplaced placeholder ${type.value}`;
  } else {
    const value = checked(type, TYPE, POSTBACK_LIMITS.type, 'letters, digits, spaces and _ . : -');
    if (value !== undefined) out.type = value;
  }

  const sum = pick(params, 'sum');
  if (sum && sum.value !== '' && !isPlaceholder(sum.value)) {
    const value = parseDecimal(sum.value.replace(/^\+/, ''));
    if (value === undefined) {
      throw new InvalidInput(sum.name, `"${quote(sum.value)}" is not a decimal number (examples: 47, 47.00, -47.00; at most 6 decimals)`);
    }
    out.sum = value;
  }

  const currency = pick(params, 'currency');
  if (currency && currency.value !== '' && !isPlaceholder(currency.value)) {
    const code = acceptedCurrency(currency.value, options.currencies);
    if (code === undefined) {
      throw new InvalidInput(
        currency.name,
        options.currencies
          ? `"${quote(currency.value)}" is not one of this tracker's currencies (${[...options.currencies].join(', ')})`
          : `"${quote(currency.value)}" is not an ISO 4217 currency code such as EUR`,
      );
    }
    out.currency = code;
  }

  const txid = pick(params, 'txid');
  if (!(txid && isPlaceholder(txid.value))) {
    const value = checked(txid, TXID, POSTBACK_LIMITS.txid, 'letters, digits and . _ : , -');
    if (value !== undefined) out.txid = value;
  }

  const status = pick(params, 'status');
  if (!(status && isPlaceholder(status.value))) {
    const value = checked(status, STATUS, POSTBACK_LIMITS.status, 'letters, digits, _ and -');
    if (value !== undefined) out.status = value;
  }

  if (!out.isTest && out.type === undefined) {
    throw new InvalidInput('type', 'is missing: append a Digistore24 macro such as &type={transaction_type}, or a name such as &type=payment');
  }
  return out;
}
