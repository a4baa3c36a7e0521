/**
 * Deadlines: every request handler runs under one (lambda/handlers/deadline.ts), and every
 * call to something outside the process (DynamoDB, SQS, Secrets Manager, SSM, a traffic
 * channel) takes its abort signal from it, capped by the call's own budget. So a dependency
 * that accepts the connection and never answers costs a bounded time, the handler still
 * answers, and nothing it started outlives the function.
 *
 * The deadline travels with the request in an AsyncLocalStorage, so the ports (ClickStore,
 * DeadLetterSink, ...) keep their signatures and every adapter call — including ones added
 * later — is bounded without being handed a signal. Plain Node: no AWS types.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { setMaxListeners } from 'node:events';

/** Thrown (as the abort reason) when a call ran out of time; `name` is "TimeoutError". */
export class CallTimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

export class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: ReturnType<typeof setTimeout>;

  /** `at`: epoch ms when the handler must have its answer. */
  constructor(
    readonly at: number,
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setTimeout(() => this.controller.abort(new CallTimeoutError('the request deadline passed')), Math.max(0, at - now()));
    // A deadline never keeps a process (a CLI, a test) alive by itself.
    this.timer.unref?.();
    // Every call in flight listens on this one signal: a report reads up to 64 click partitions
    // at once (Node warns of a leak past 10 listeners; they are removed as the calls end).
    setMaxListeners(1000, this.controller.signal);
  }

  /** Aborted when the deadline passes. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  remainingMs(): number {
    return Math.max(0, this.at - this.now());
  }

  /** Stops the timer (the handler answered). */
  dispose(): void {
    clearTimeout(this.timer);
  }
}

const current = new AsyncLocalStorage<Deadline>();

/** Runs `fn` with `deadline` as the current deadline of everything it calls. */
export function runWithDeadline<T>(deadline: Deadline, fn: () => Promise<T>): Promise<T> {
  return current.run(deadline, fn);
}

/** The deadline of the request being handled, if any (CLIs and setup code run without one). */
export function currentDeadline(): Deadline | undefined {
  return current.getStore();
}

/**
 * Runs one outside call with a signal that aborts after `capMs`, or at the current deadline
 * minus `reserveMs` (time kept back for what must follow, e.g. recording a failed forward),
 * whichever comes first. An abort is reported as a CallTimeoutError naming `what` and the
 * time allowed, so a queued message says "DynamoDB PutItem: no answer within 600 ms" rather
 * than "Request aborted".
 */
export async function withCallTimeout<T>(what: string, capMs: number, call: (signal: AbortSignal) => Promise<T>, reserveMs = 0): Promise<T> {
  const deadline = currentDeadline();
  const allowed = allowedMs(capMs, reserveMs);
  const controller = new AbortController();
  // Built only when it fires: an Error captures a stack, which costs more than the rest of
  // this wrapper on a call that answers in time (nearly all of them).
  let reason: CallTimeoutError | undefined;
  const abort = () => {
    reason ??= new CallTimeoutError(
      allowed < capMs ? `${what}: no answer within ${allowed} ms (the request's deadline)` : `${what}: no answer within ${allowed} ms`,
    );
    controller.abort(reason);
  };
  const timer = setTimeout(abort, allowed);
  timer.unref?.();
  deadline?.signal.addEventListener('abort', abort, { once: true });
  try {
    if (allowed === 0) abort();
    return await call(controller.signal);
  } catch (err) {
    // The SDK and fetch report our abort as AbortError: say what it was instead.
    if (reason) throw reason;
    throw err;
  } finally {
    clearTimeout(timer);
    deadline?.signal.removeEventListener('abort', abort);
  }
}

/** How long a call may take now: `capMs`, or less when the deadline (minus `reserveMs`) is nearer. */
export function allowedMs(capMs: number, reserveMs = 0): number {
  const deadline = currentDeadline();
  return Math.max(0, Math.min(capMs, deadline ? deadline.remainingMs() - reserveMs : capMs));
}

/** Waits `ms`, or less when the current deadline comes first. */
export function pause(ms: number): Promise<void> {
  const deadline = currentDeadline();
  const wait = Math.min(ms, deadline ? deadline.remainingMs() : ms);
  return new Promise((resolve) => setTimeout(resolve, wait));
}
