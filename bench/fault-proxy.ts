/**
 * A TCP proxy between the tracker's handlers and their DynamoDB that `npm run bench:load` can
 * break mid-run: `down` resets every connection (a stopped store: the SDK sees ECONNRESET),
 * `blackhole` accepts connections and never answers (a hung store), `up` forwards. Every switch
 * cuts the open connections, so keep-alive sockets cannot carry traffic past a fault; a request
 * whose write DynamoDB applied may lose its answer that way, which is part of the test.
 */
import { connect, createServer, type Socket } from 'node:net';

export type FaultMode = 'up' | 'down' | 'blackhole';

export interface FaultProxy {
  readonly endpoint: string;
  readonly mode: FaultMode;
  setMode(mode: FaultMode): void;
  /** Connections forwarded, reset (down) and swallowed (blackhole). */
  readonly stats: { forwarded: number; reset: number; swallowed: number };
  close(): Promise<void>;
}

export async function startFaultProxy(targetPort: number, host = '127.0.0.1'): Promise<FaultProxy> {
  let mode: FaultMode = 'up';
  const open = new Set<Socket>();
  const stats = { forwarded: 0, reset: 0, swallowed: 0 };
  const track = (socket: Socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = createServer((client) => {
    if (mode === 'down') {
      stats.reset++;
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    track(client);
    if (mode === 'blackhole') {
      stats.swallowed++;
      client.resume(); // read and drop: the request is taken, no answer ever comes
      return;
    }
    stats.forwarded++;
    const upstream = connect(targetPort, host);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('fault proxy: no address');
  return {
    endpoint: `http://${host}:${address.port}`,
    get mode() {
      return mode;
    },
    setMode(next: FaultMode) {
      mode = next;
      for (const socket of open) socket.destroy();
      open.clear();
    },
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
