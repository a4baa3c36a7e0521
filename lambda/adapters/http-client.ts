/**
 * The HTTP client of the conversion APIs: Node's fetch with a hard timeout per attempt, no
 * redirects followed (a token never goes where the config did not say), the answer read under
 * the same timeout and cut at 256 KB. A timeout and a network error are answers too (`error`):
 * the caller decides what they mean.
 */
import { CallTimeoutError, withCallTimeout } from '../core/deadline';
import type { HttpAnswer, HttpClient, HttpRequest } from '../core/send-model';

const MAX_BODY = 256 * 1024;
/** Kept back from the handler's deadline when a call starts late: recording its outcome. */
const OUTCOME_RESERVE_MS = 5000;

export class FetchHttpClient implements HttpClient {
  async request(request: HttpRequest): Promise<HttpAnswer> {
    let host = 'platform';
    try {
      host = new URL(request.url).host;
    } catch {
      // the fetch below says what is wrong with it
    }
    try {
      // The call's own timeout, or the handler's deadline (minus time to record the outcome) when nearer.
      return await withCallTimeout(
        `POST ${host}`,
        request.timeoutMs,
        async (signal) => {
          const response = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body, redirect: 'manual', signal });
          const reader = response.body?.getReader();
          const chunks: Uint8Array[] = [];
          let size = 0;
          if (reader) {
            for (;;) {
              const { done, value } = await reader.read();
              if (done) break;
              if (size < MAX_BODY) chunks.push(value);
              size += value.length;
            }
          }
          return { status: response.status, body: Buffer.concat(chunks).toString('utf8').slice(0, MAX_BODY) };
        },
        OUTCOME_RESERVE_MS,
      );
    } catch (err) {
      const e = err as Error;
      if (e instanceof CallTimeoutError) return { error: e.message, timedOut: true };
      // The URL is ours (never a token); the cause says what failed (ECONNREFUSED, a TLS error...).
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      return { error: `${e.name}: ${cause?.code ?? cause?.message ?? e.message}`, timedOut: false };
    }
  }
}
