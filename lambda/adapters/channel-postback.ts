import type { ChannelPostback } from '../core/model';

/**
 * Calls a traffic channel's postback URL with Node's fetch and a hard timeout. 2xx and 3xx
 * count as delivered; anything else, a timeout or a network error is a failure.
 */
export class FetchChannelPostback implements ChannelPostback {
  constructor(private readonly timeoutMs = 2000) {}

  async send(url: string): Promise<{ ok: true; status: number } | { ok: false; error: string }> {
    try {
      const response = await fetch(url, { method: 'GET', redirect: 'manual', signal: AbortSignal.timeout(this.timeoutMs) });
      await response.arrayBuffer().catch(() => undefined);
      if (response.status >= 200 && response.status < 400) return { ok: true, status: response.status };
      return { ok: false, error: `HTTP ${response.status}` };
    } catch (err) {
      const e = err as Error;
      return { ok: false, error: e.name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : `${e.name}: ${e.message}` };
    }
  }
}
