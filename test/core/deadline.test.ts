/**
 * The deadline plumbing on its own: what a handler's deadline is, how a call's time is cut to
 * it, and that it follows the request through awaits (and only that request).
 */
import { CallTimeoutError, Deadline, allowedMs, currentDeadline, pause, runWithDeadline, withCallTimeout } from '../../lambda/core/deadline';
import { TIMEOUT_MARGIN_MS, deadlineFor, whenSlow, withDeadline } from '../../lambda/handlers/deadline';

const never = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' }))));

describe('deadlineFor', () => {
  it("is the handler's budget, or Lambda's remaining time minus the margin when that is shorter", () => {
    const now = () => 1_000_000;
    expect(deadlineFor(1200, undefined, now).at).toBe(1_001_200);
    expect(deadlineFor(1200, { getRemainingTimeInMillis: () => 5000 }, now).at).toBe(1_001_200);
    expect(deadlineFor(8000, { getRemainingTimeInMillis: () => 3000 }, now).at).toBe(1_000_000 + 3000 - TIMEOUT_MARGIN_MS);
    expect(deadlineFor(8000, { getRemainingTimeInMillis: () => 100 }, now).at).toBe(1_000_000);
  });
});

describe('withDeadline', () => {
  it('gives each request its own deadline, visible through awaits, gone afterwards', async () => {
    const seen: (number | undefined)[] = [];
    const handler = withDeadline(1000, async (n: number) => {
      await new Promise((r) => setTimeout(r, n));
      seen.push(currentDeadline()?.remainingMs());
      return currentDeadline();
    });
    const [a, b] = await Promise.all([handler(5), handler(30)]);
    expect(a).toBeInstanceOf(Deadline);
    expect(a).not.toBe(b);
    expect(seen.every((ms) => ms !== undefined && ms > 900 && ms <= 1000)).toBe(true);
    expect(currentDeadline()).toBeUndefined();
  });
});

describe('withCallTimeout', () => {
  it('aborts at its cap without a deadline, naming the call', async () => {
    await expect(withCallTimeout('SQS SendMessage', 30, never)).rejects.toEqual(new CallTimeoutError('SQS SendMessage: no answer within 30 ms'));
  });

  it('aborts at the deadline minus the reserve when that comes first', async () => {
    const deadline = new Deadline(Date.now() + 300);
    const start = Date.now();
    const error = await runWithDeadline(deadline, () => withCallTimeout('the traffic channel', 2000, never, 200)).catch((e: Error) => e);
    expect(Date.now() - start).toBeLessThan(250);
    expect((error as Error).message).toMatch(/^the traffic channel: no answer within \d+ ms \(the request's deadline\)$/);
    expect(allowedMs(2000, 200)).toBe(2000); // outside the request: the cap
  });

  it('passes through what the call returns or throws itself', async () => {
    await expect(withCallTimeout('x', 1000, async () => 42)).resolves.toBe(42);
    await expect(withCallTimeout('x', 1000, async () => Promise.reject(new Error('ConditionalCheckFailed')))).rejects.toThrow('ConditionalCheckFailed');
  });
});

describe('pause', () => {
  it('never waits past the deadline', async () => {
    const start = Date.now();
    await runWithDeadline(new Deadline(Date.now() + 50), () => pause(5000));
    expect(Date.now() - start).toBeLessThan(1000);
  });
});

describe('whenSlow', () => {
  it('calls back only when the work is still pending after the delay', async () => {
    let called = 0;
    await whenSlow(new Promise((r) => setTimeout(r, 5)), 100, () => called++);
    await new Promise((r) => setTimeout(r, 150));
    expect(called).toBe(0);
    await whenSlow(new Promise((r) => setTimeout(r, 80)), 10, () => called++);
    expect(called).toBe(1);
  });
});
