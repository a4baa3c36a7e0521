/**
 * The one way a handler gets its deadline. Every handler factory wraps its request function:
 *
 *   return withDeadline(HANDLER_DEADLINE_MS.click, handle);
 *
 * The deadline is the handler's budget, or Lambda's own remaining time minus a margin when that
 * is shorter (a function deployed with a lower timeout still answers); core/deadline carries it
 * to every outside call the request makes, and the timer is cleared when the answer is ready.
 */
import { Deadline, runWithDeadline } from '../core/deadline';

/** The part of Lambda's context the deadline uses. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}

/** Kept between the deadline and Lambda's own timeout: answering, logging, metrics. */
export const TIMEOUT_MARGIN_MS = 500;

export function deadlineFor(budgetMs: number, context?: InvocationContext, now: () => number = Date.now): Deadline {
  const remaining = context ? context.getRemainingTimeInMillis() - TIMEOUT_MARGIN_MS : budgetMs;
  return new Deadline(now() + Math.max(0, Math.min(budgetMs, remaining)), now);
}

/**
 * Calls `then` if `work` has not settled after `afterMs` (and never after it settled): used to
 * get a fallback ready while the main path is visibly failing.
 */
export function whenSlow<T>(work: Promise<T>, afterMs: number, then: () => void): Promise<T> {
  const timer = setTimeout(then, afterMs);
  const clear = () => clearTimeout(timer);
  work.then(clear, clear);
  return work;
}

export function withDeadline<E, R>(budgetMs: number, handle: (event: E) => Promise<R>): (event: E, context?: InvocationContext) => Promise<R> {
  return async (event, context) => {
    const deadline = deadlineFor(budgetMs, context);
    try {
      return await runWithDeadline(deadline, () => handle(event));
    } finally {
      deadline.dispose();
    }
  };
}
