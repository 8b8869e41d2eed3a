import * as net from 'node:net';

/** True when nothing listens on host:port (we can bind it). */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

/** A port the OS considers free right now. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The preferred port when it is free, else a free one. 0 means "any". `taken` holds ports already
 * handed out in this start-up so two services never get the same one.
 */
export async function pickPort(
  preferred: number,
  taken: Set<number>,
  host = '127.0.0.1',
): Promise<{ port: number; fellBack: boolean }> {
  if (preferred > 0 && !taken.has(preferred) && (await isPortFree(preferred, host))) {
    taken.add(preferred);
    return { port: preferred, fellBack: false };
  }
  for (;;) {
    const port = await freePort(host);
    if (!taken.has(port)) {
      taken.add(port);
      return { port, fellBack: preferred > 0 };
    }
  }
}

/** Resolve when host:port accepts a TCP connection. */
export function canConnect(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
