/**
 * The send queue of the local run: jobs in memory, drained by a timer through the same sender
 * core the AWS queue feeds (lambda/core/send processSend). A job that throws (the store is down)
 * is tried again 30 s later, as SQS would redeliver it. Nothing is lost when the process stops:
 * every outstanding send is marked due on its conversion item, and the sweep (on a timer here,
 * hourly in AWS; `npm run sweep -- --local`) picks it up.
 */
import type { SendJob, SendQueue } from '../core/send-model';

export interface InProcessSendQueueOptions {
  /** Runs one job (processSend and its metrics/logs). */
  handle: (job: SendJob) => Promise<void>;
  /** How often due jobs are looked for (default 200 ms). */
  intervalMs?: number;
  /** Multiplies every delay (tests: 0.001 turns a 30 s backoff into 30 ms). Default 1. */
  delayScale?: number;
  /** Jobs run at once (default 4). */
  concurrency?: number;
  onError?: (job: SendJob, err: unknown) => void;
}

export class InProcessSendQueue implements SendQueue {
  private readonly jobs: { job: SendJob; notBefore: number }[] = [];
  private running = 0;
  private timer?: ReturnType<typeof setInterval>;
  private readonly idle = new Set<() => void>();

  constructor(private readonly options: InProcessSendQueueOptions) {}

  async enqueue(job: SendJob, delaySeconds = 0): Promise<void> {
    this.jobs.push({ job: { ...job }, notBefore: Date.now() + delaySeconds * 1000 * (this.options.delayScale ?? 1) });
    this.pump();
  }

  /** Starts the timer that drains due jobs (the local server; tests may call drain() instead). */
  start(): this {
    this.timer ??= setInterval(() => this.pump(), this.options.intervalMs ?? 200);
    this.timer.unref?.();
    return this;
  }

  /** Jobs waiting (due or delayed) and running. */
  get size(): number {
    return this.jobs.length + this.running;
  }

  private pump(): void {
    const limit = this.options.concurrency ?? 4;
    while (this.running < limit) {
      const now = Date.now();
      const index = this.jobs.findIndex((j) => j.notBefore <= now);
      if (index < 0) break;
      const [entry] = this.jobs.splice(index, 1);
      if (!entry) break;
      this.running++;
      void this.options
        .handle(entry.job)
        .catch((err: unknown) => {
          this.options.onError?.(entry.job, err);
          this.jobs.push({ job: entry.job, notBefore: Date.now() + 30_000 * (this.options.delayScale ?? 1) });
        })
        .finally(() => {
          this.running--;
          this.pump();
          if (this.size === 0) for (const resolve of this.idle) resolve();
        });
    }
  }

  /**
   * Resolves when no job is waiting or running — delayed ones included (tests; with a small
   * delayScale). Rejects after `timeoutMs`.
   */
  async drain(timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.size > 0) {
      if (Date.now() > until) throw new Error(`send queue not drained within ${timeoutMs} ms (${this.size} job(s) left)`);
      this.pump();
      await new Promise<void>((resolve) => {
        const done = () => {
          this.idle.delete(done);
          resolve();
        };
        this.idle.add(done);
        setTimeout(done, 20);
      });
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
