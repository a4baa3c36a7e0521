/**
 * A "black hole": a TCP server on loopback that accepts every connection, reads what it is
 * sent and never answers — the way a hanging dependency looks to a client (the connection
 * succeeds, the answer never comes). It counts connections and knows which are still open, so
 * a test can prove a call was really aborted (its socket closed), not merely given up on.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface BlackHole {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Connections accepted so far. */
  accepted(): number;
  /** Connections that carried a request and that the client has not closed yet. */
  open(): number;
  /** Resolves once every connection that carried a request was closed by the client (or rejects after `ms`). */
  drained(ms?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startBlackHole(): Promise<BlackHole> {
  const all = new Set<Socket>();
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted++;
    all.add(socket);
    socket.on('data', () => sockets.add(socket)); // read and ignore: never a byte back
    socket.on('error', () => undefined);
    socket.on('close', () => {
      all.delete(socket);
      sockets.delete(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    accepted: () => accepted,
    open: () => sockets.size,
    drained: async (ms = 1000) => {
      const until = Date.now() + ms;
      while (sockets.size > 0) {
        if (Date.now() > until) throw new Error(`${sockets.size} connection(s) to the black hole still open after ${ms} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: async () => {
      for (const socket of all) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
