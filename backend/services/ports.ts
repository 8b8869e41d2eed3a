import * as fs from 'node:fs';
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

/** Socket inodes listening on TCP `port` (any local address), from /proc/net/tcp{,6}; undefined without /proc. */
function listeningInodes(port: number): Set<string> | undefined {
  const inodes = new Set<string>();
  let read = false;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    read = true;
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const f = line.trim().split(/\s+/);
      const local = f[1];
      if (!local || f[3] !== '0A') {
        continue; // 0A: LISTEN
      }
      if (parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port && f[9]) {
        inodes.add(f[9]);
      }
    }
  }
  return read ? inodes : undefined;
}

/** Does a socket of `pid` listen on `port`? Undefined where /proc cannot tell (not Linux). */
export function pidListensOn(pid: number, port: number): boolean | undefined {
  const inodes = listeningInodes(port);
  if (!inodes) {
    return undefined;
  }
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes.size === 0 ? false : undefined;
  }
  return fds.some((fd) => {
    try {
      const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      return inodes.has(/^socket:\[(\d+)\]$/.exec(target)?.[1] ?? '');
    } catch {
      return false;
    }
  });
}
