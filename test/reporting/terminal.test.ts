/**
 * Issue 10 item 8: what the CLIs print (report table and CSV, trace, dlq, redrive) cannot act
 * on the operator's terminal, whatever a request put into a sub, a txid, a type or an answer.
 * The records below carry ANSI (CSI: clear screen, cursor moves), OSC (set the window title,
 * hyperlinks), C1 controls and bidirectional overrides, as stored by an attacker's requests.
 */
import { buildReport, formatCsv, formatJson, formatTable } from '../../lambda/core/report';
import { terminalJson, terminalSafe } from '../../lambda/core/terminal-safe';
import { formatRecent, formatTrace } from '../../lambda/core/trace';
import type { DeadLetterMessage, InboundEntry } from '../../lambda/core/model';
import { table as dlqTable } from '../../scripts/dlq';
import { formatSummary, progressLine } from '../../scripts/redrive';

/** Clear screen + home (CSI), set the window title (OSC ... BEL), an OSC 8 hyperlink, C1 CSI, a right-to-left override. */
const ANSI = '\u001b[2J\u001b[H';
const OSC = '\u001b]0;owned\u0007';
const LINK = '\u001b]8;;https://evil.example\u001b\\click\u001b]8;;\u001b\\';
const C1 = '\u009b31m\u009d0;t\u009c';
const BIDI = '\u202etxt.exe\u202c\u2066x\u2069\u200f';
const HOSTILE = `a${ANSI}b${OSC}c${LINK}d${C1}e${BIDI}f\r\u0008\u007f`;

/** Every character a terminal would act on (C0 but the newline, DEL, C1, bidi controls, line separators). */
// eslint-disable-next-line no-control-regex
const ACTIVE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;

const expectHarmless = (printed: string, json = false) => {
  expect(printed).not.toMatch(ACTIVE);
  // What was there stays visible, escaped.
  expect(printed).toContain(json ? '\\u001b]0;owned\\u0007' : '\\x1b]0;owned\\x07');
};

describe('terminalSafe', () => {
  it('turns every control into a visible escape and leaves ordinary text alone', () => {
    expect(terminalSafe(HOSTILE)).not.toMatch(ACTIVE);
    expect(terminalSafe('\u001b[2J')).toBe('\\x1b[2J');
    expect(terminalSafe('\u009b')).toBe('\\x9b');
    expect(terminalSafe('\u202e')).toBe('\\u202e');
    expect(terminalSafe('line\nbreak')).toBe('line\\x0abreak');
    expect(terminalSafe('Ünïcödé 😀 adset-1 שלום')).toBe('Ünïcödé 😀 adset-1 שלום');
  });

  it('keeps JSON valid and equal to the data, with C1 and bidi escaped too', () => {
    const value = { sub1: HOSTILE, nested: [HOSTILE] };
    const printed = terminalJson(value);
    expect(printed).not.toMatch(ACTIVE);
    expect(JSON.parse(printed)).toEqual(value);
    // Plain JSON.stringify lets C1 and bidi through: that is why the CLIs do not use it.
    expect(JSON.stringify(value)).toMatch(ACTIVE);
  });
});

describe('every CLI output', () => {
  const click = {
    clickId: '01JDZ8Q3V6W0K1X2Y3Z4A5B6C7',
    campaignId: 'demo',
    offerId: 'ds24',
    channelId: 'facebook',
    channelClickId: HOSTILE,
    createdAt: '2026-11-25T10:00:00.000Z',
    expiresAt: 1800000000,
    subs: { sub1: HOSTILE, sub2: 'plain' },
    country: 'DE',
    userAgent: HOSTILE,
    referer: HOSTILE,
  };
  const entry: InboundEntry = {
    clickId: click.clickId,
    receivedAt: '2026-11-25T11:00:00.000Z',
    requestId: 'r1',
    channel: 'postback',
    outcome: 'recorded',
    httpStatus: 200,
    type: HOSTILE,
    txid: HOSTILE,
    revenue: '1',
    currency: 'EUR',
    answer: `OK ${HOSTILE}`,
  };
  const message: DeadLetterMessage = {
    version: 1,
    id: '01JDZ8Q3V6W0K1X2Y3Z4ZZZZZZ',
    kind: 'postback',
    reason: 'unknown_type',
    detail: `unknown conversion type "${HOSTILE}"`,
    receivedAt: '2026-11-25T11:00:00.000Z',
    clickId: HOSTILE,
    request: { method: 'POST', path: '/postback', query: `type=${HOSTILE}`, body: `txid=${HOSTILE}`, headers: { 'user-agent': HOSTILE } },
  };

  it('report: the table, the CSV and --json (exact money, the same values back)', () => {
    const rows = buildReport(
      [{ clickId: click.clickId, campaignId: 'demo', createdAt: click.createdAt, sub1: HOSTILE, country: 'DE' }],
      [{ clickId: click.clickId, campaignId: 'demo', type: HOSTILE, counted: true, revenue: '90071992547409.93', currency: 'EUR', createdAt: click.createdAt, sub1: HOSTILE }],
      { by: ['campaign', 'sub1'], timeZone: 'UTC', costCurrency: 'EUR' },
    );
    expectHarmless(formatTable(rows, ['campaign', 'sub1']));
    expectHarmless(formatCsv(rows, ['campaign', 'sub1']));
    const json = formatJson(rows);
    expectHarmless(json, true);
    expect(json).toContain('"EUR": 90071992547409.93');
    expect(JSON.parse(json)).toEqual([expect.objectContaining({ campaignId: 'demo', sub1: HOSTILE, conversions: { [HOSTILE]: 1 } })]);
  });

  it('trace: the story of a click and the latest requests', () => {
    const printed = formatTrace({ clickId: click.clickId, click, inbound: [entry], conversions: [{ createdAt: 'x', type: HOSTILE, revenue: '1', currency: 'EUR', txid: HOSTILE, counted: true, source: 'postback' }], queued: [message] });
    expectHarmless(printed);
    expect(printed.split('\n').length).toBeGreaterThan(8); // the layout's own line breaks stay
    expectHarmless(formatRecent([{ ...entry, clickId: HOSTILE }]));
    expectHarmless(terminalJson({ click, inbound: [entry] }), true);
  });

  it('dlq: the table and the JSON', () => {
    expectHarmless(dlqTable([message]));
    // The archive's messages are listed by the same safe table, with their place.
    const archived = dlqTable([{ ...message, place: 'archive' }]);
    expectHarmless(archived);
    expect(archived).toMatch(/ archive /);
    expectHarmless(terminalJson([message]), true);
    expect(JSON.parse(terminalJson([message]))).toEqual([message]);
  });

  it('redrive: the progress lines and the summary', () => {
    expectHarmless(progressLine(message, { done: false, reason: 'unknown_type', detail: message.detail }));
    expectHarmless(progressLine(message, 'stale', 'archive'));
    expectHarmless(formatSummary({ received: 1, fromArchive: 1, replayed: 0, discarded: 1, outcomes: { [HOSTILE]: 1 }, stillFailing: { [HOSTILE]: 1 }, skipped: 0, heldUnknownForwards: 1, staleCopies: 1, busy: 1, dryRun: false }));
  });
});
