/**
 * Ad spend imported from a CSV (`npm run spend -- import FILE.csv`): what Facebook and other
 * platforms that put no cost macro in the click URL report per campaign, ad set, ad and day. It
 * becomes `cost` (and so profit and ROI) in the report rows it belongs to.
 *
 * The file is validated as a whole before anything is written: every problem is reported with
 * its line and column, and a file with any problem writes nothing. For each campaign and day in
 * the file, its rows replace whatever was imported for that campaign and day before, so a
 * re-import of the same rows (or a corrected file) never adds up.
 */
import { parseDecimal } from './decimal';

export const SPEND_COLUMNS = ['campaign', 'day', 'sub1', 'sub2', 'sub3', 'amount', 'currency'] as const;
const REQUIRED = ['campaign', 'day', 'amount', 'currency'] as const;
const SUBS = ['sub1', 'sub2', 'sub3'] as const;

export interface SpendRow {
  campaignId: string;
  /** A calendar date (YYYY-MM-DD), the ad platform's day. */
  day: string;
  sub1?: string;
  sub2?: string;
  sub3?: string;
  /** Canonical decimal, >= 0. */
  amount: string;
  currency: string;
}

export interface SpendRules {
  /** Campaigns spend may be imported for (the config's and the catalog's). */
  campaigns: ReadonlySet<string>;
  /** The currency costs are in (defaults.currency): spend must be in it. */
  currency: string;
}

export class SpendFileError extends Error {
  constructor(readonly problems: string[]) {
    super(`the spend file was not imported (nothing was written):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SpendFileError';
  }
}

/** RFC 4180 records: quoted fields may hold commas, quotes ("") and line breaks. */
function records(text: string): { line: number; fields: string[] }[] {
  const out: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  let atFieldStart = true;
  const body = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < body.length; i++) {
    const ch = body[i] as string;
    if (quoted) {
      if (ch === '"') {
        if (body[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"' && atFieldStart) {
      quoted = true;
      atFieldStart = false;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
      atFieldStart = true;
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && body[i + 1] === '\n') i++;
      fields.push(field);
      out.push({ line: start, fields });
      fields = [];
      field = '';
      atFieldStart = true;
      line++;
      start = line;
    } else {
      field += ch;
      atFieldStart = false;
    }
  }
  if (quoted) throw new SpendFileError([`line ${start}: a quoted field is not closed`]);
  if (field !== '' || fields.length > 0) {
    fields.push(field);
    out.push({ line: start, fields });
  }
  return out.filter((r) => !(r.fields.length === 1 && r.fields[0]?.trim() === ''));
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const CAMPAIGN = /^[A-Za-z0-9_-]{1,64}$/;

function isDay(text: string): boolean {
  const m = DAY.exec(text);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === text;
}

/** The identity of a spend row: campaign, day and subs (a re-import of it replaces it). */
export const spendKey = (r: Pick<SpendRow, 'campaignId' | 'day' | 'sub1' | 'sub2' | 'sub3'>): string => JSON.stringify([r.campaignId, r.day, r.sub1 ?? null, r.sub2 ?? null, r.sub3 ?? null]);

/**
 * Parses and checks a spend CSV. Throws SpendFileError with every problem (line and column);
 * returns the rows only when there is none.
 */
export function parseSpendCsv(text: string, rules: SpendRules): SpendRow[] {
  const all = records(text);
  const header = all[0];
  if (!header) throw new SpendFileError(['the file is empty: the first line must name the columns campaign,day,sub1,sub2,sub3,amount,currency']);
  const problems: string[] = [];
  const names = header.fields.map((f) => f.trim().toLowerCase());
  names.forEach((n, i) => {
    if (!(SPEND_COLUMNS as readonly string[]).includes(n)) problems.push(`line ${header.line}, column ${i + 1}: "${n}" is not a column (${SPEND_COLUMNS.join(',')}; sub1..sub3 optional)`);
    else if (names.indexOf(n) !== i) problems.push(`line ${header.line}: column "${n}" is named twice`);
  });
  for (const need of REQUIRED) if (!names.includes(need)) problems.push(`line ${header.line}: the column "${need}" is missing`);
  if (problems.length > 0) throw new SpendFileError(problems);

  const rows: SpendRow[] = [];
  const seen = new Map<string, number>();
  const levels = new Map<string, { line: number; subs: (string | undefined)[] }[]>();
  for (const record of all.slice(1)) {
    const at = (column: string) => `line ${record.line}, column ${column}`;
    if (record.fields.length !== names.length) {
      problems.push(`line ${record.line}: ${record.fields.length} fields, the header has ${names.length}`);
      continue;
    }
    const get = (column: string) => {
      const i = names.indexOf(column);
      return i < 0 ? '' : (record.fields[i] ?? '').trim();
    };
    const before = problems.length;
    const campaignId = get('campaign');
    if (!CAMPAIGN.test(campaignId)) problems.push(`${at('campaign')}: "${campaignId}" is not a campaign id (letters, digits, _ and -)`);
    else if (!rules.campaigns.has(campaignId)) problems.push(`${at('campaign')}: "${campaignId}" is not a campaign of this tracker`);
    const day = get('day');
    if (!isDay(day)) problems.push(`${at('day')}: "${day}" is not a date (YYYY-MM-DD)`);
    const subs: (string | undefined)[] = SUBS.map((s) => {
      const v = get(s);
      if (v.length > 255) problems.push(`${at(s)}: longer than 255 characters (clicks keep at most 255)`);
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u001f\u007f]/.test(v)) problems.push(`${at(s)}: contains a control character`);
      return v === '' ? undefined : v;
    });
    SUBS.forEach((s, i) => {
      if (i > 0 && subs[i] !== undefined && subs[i - 1] === undefined) problems.push(`${at(s)}: ${s} without ${SUBS[i - 1]} (spend follows campaign > sub1 > sub2 > sub3)`);
    });
    const amountText = get('amount');
    const amount = parseDecimal(amountText);
    if (amount === undefined) problems.push(`${at('amount')}: "${amountText}" is not an amount (digits, optional "." and up to 6 decimals, e.g. 12.50)`);
    else if (amount.startsWith('-')) problems.push(`${at('amount')}: "${amountText}" is negative`);
    const currency = get('currency');
    if (!/^[A-Z]{3}$/.test(currency)) problems.push(`${at('currency')}: "${currency}" is not a 3-letter currency code such as ${rules.currency}`);
    else if (currency !== rules.currency) {
      problems.push(`${at('currency')}: ${currency}, but costs are in ${rules.currency} (defaults.currency): convert the amount to ${rules.currency} first`);
    }
    if (problems.length > before || amount === undefined) continue;
    const row: SpendRow = {
      campaignId,
      day,
      ...(subs[0] !== undefined ? { sub1: subs[0] } : {}),
      ...(subs[1] !== undefined ? { sub2: subs[1] } : {}),
      ...(subs[2] !== undefined ? { sub3: subs[2] } : {}),
      amount,
      currency,
    };
    const key = spendKey(row);
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      problems.push(`line ${record.line}: the same campaign, day and subs as line ${earlier}`);
      continue;
    }
    seen.set(key, record.line);
    // A row for an ad set and one for an ad in it (or for the whole campaign) would count twice.
    const scope = JSON.stringify([campaignId, day]);
    const others = levels.get(scope) ?? [];
    for (const other of others) {
      const [a, b] = other.subs.filter((s) => s !== undefined).length <= subs.filter((s) => s !== undefined).length ? [other.subs, subs] : [subs, other.subs];
      const covers = a.every((s, i) => s === undefined || s === b[i]);
      if (covers) problems.push(`line ${record.line}: overlaps line ${other.line} (one covers the other's ${a.every((s) => s === undefined) ? 'campaign' : 'subs'}): the spend would count twice`);
    }
    levels.set(scope, [...others, { line: record.line, subs }]);
    rows.push(row);
  }
  if (problems.length > 0) throw new SpendFileError(problems);
  if (rows.length === 0) throw new SpendFileError(['the file has a header but no rows']);
  return rows;
}
