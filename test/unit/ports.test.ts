import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { describe, it } from 'node:test';
import { pidListensOn } from '../../backend/services/ports';

function listen(): Promise<{ server: net.Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : 0 });
    });
  });
}

describe('pidListensOn (is the server on a port our child?)', { skip: process.platform !== 'linux' }, () => {
  it('tells the process that listens on a port from one that does not', async () => {
    const { server, port } = await listen();
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      assert.equal(pidListensOn(process.pid, port), true);
      assert.equal(pidListensOn(other.pid as number, port), false);
    } finally {
      other.kill();
      await new Promise((r) => server.close(r));
    }
    // Nobody listens any more.
    assert.equal(pidListensOn(process.pid, port), false);
  });
});
