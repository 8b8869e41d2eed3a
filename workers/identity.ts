// The identity a worker polls with, as Temporal shows it (task queue pollers, activity attempts):
// workers on several hosts must be told apart, and host names alone often are not enough
// (containers, cloned VMs), so a worker that reaches Temporal over the network adds the address
// it reaches it from.
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as os from 'node:os';

/** `vertical@host:pid`, or `vertical@host[address]:pid` when Temporal is not on loopback. */
export async function workerIdentity(
  vertical: string,
  temporalAddress: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  if (env.FUZZFORGE_WORKER_IDENTITY) {
    return env.FUZZFORGE_WORKER_IDENTITY;
  }
  const local = await localAddressTowards(temporalAddress);
  const where = local && !isLoopback(local) ? `${os.hostname()}[${local}]` : os.hostname();
  return `${vertical}@${where}:${process.pid}`;
}

/**
 * The local address the system routes to `host:port` from: a connected UDP socket picks its
 * source address without sending anything. Undefined when there is no route or no answer.
 */
export function localAddressTowards(address: string, timeoutMs = 2000): Promise<string | undefined> {
  const idx = address.lastIndexOf(':');
  const host = address.slice(0, idx).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(idx + 1));
  if (!host || !Number.isInteger(port) || port <= 0) {
    return Promise.resolve(undefined);
  }
  return new Promise((resolve) => {
    const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    let settled = false;
    const done = (value: string | undefined) => {
      if (settled) {
        return;
      }
      settled = true;
      clearTimeout(timer);
      try {
        socket.close();
      } catch {
        // Already closed by its error.
      }
      resolve(value);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('error', () => done(undefined));
    socket.connect(port, host, () => {
      try {
        done(socket.address().address);
      } catch {
        done(undefined);
      }
    });
  });
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address === '::ffff:127.0.0.1';
}
