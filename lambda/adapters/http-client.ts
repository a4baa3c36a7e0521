/**
 * The HTTP client of the conversion APIs: Node's fetch with a hard timeout per attempt, no
 * redirects followed (a token never goes where the config did not say), the answer read under
 * the same timeout and cut at 256 KB. A timeout and a network error are answers too (`error`):
 * the caller decides what they mean.
 */
import type { HttpAnswer, HttpClient, HttpRequest } from '../core/send-model';

const MAX_BODY = 256 * 1024;

export class FetchHttpClient implements HttpClient {
  async request(request: HttpRequest): Promise<HttpAnswer> {
    const signal = AbortSignal.timeout(request.timeoutMs);
    try {
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
    } catch (err) {
      const e = err as Error;
      const timedOut = e.name === 'TimeoutError' || signal.aborted;
      // The URL is ours (never a token); the cause says what failed (ECONNREFUSED, a TLS error...).
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      return { error: timedOut ? `no answer within ${request.timeoutMs} ms` : `${e.name}: ${cause?.code ?? cause?.message ?? e.message}`, timedOut };
    }
  }
}
