// A TCP relay of a test's own in front of a real service: closed (connection refused, as while the service
// restarts) until `open()`, and `close()` drops every connection through it, as a killed server does.
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Relay {
  open(): Promise<void>;
  close(): Promise<void>;
}

export function tcpRelay(port: number, to: { host: string; port: number }): Relay {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  return {
    async open() {
      if (server) return;
      server = createServer((client) => {
        const upstream = connect(to.port, to.host);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('error', () => undefined);
          s.on('close', () => sockets.delete(s));
        }
        client.pipe(upstream).pipe(client);
      });
      await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
    },
    async close() {
      for (const s of sockets) s.destroy();
      if (server) await new Promise((resolve) => server!.close(resolve));
      server = undefined;
    },
  };
}
