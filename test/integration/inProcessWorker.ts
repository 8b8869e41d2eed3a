// What the tests that run real Temporal Workers in their own process share: a test backend, a
// client, a worker connection and a workflow bundle of the test's own workflows file.
import { Client, type Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { connectTemporal, temporalConnectOptions } from '../../backend/temporal/connect';
import { startTestBackend, type TestBackend } from './harness';

export interface InProcessWorkers {
  backend: TestBackend;
  client: Client;
  workerConnection: NativeConnection;
  bundle: Awaited<ReturnType<typeof bundleWorkflowCode>>;
  close(): Promise<void>;
}

export async function inProcessWorkers(workflowsPath: string): Promise<InProcessWorkers> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const backend = await startTestBackend({ shareable: true });
  let clientConnection: Connection | undefined;
  let workerConnection: NativeConnection | undefined;
  try {
    clientConnection = await connectTemporal(backend.conn.temporal);
    const client = new Client({ connection: clientConnection, namespace: backend.conn.temporal.namespace });
    workerConnection = await NativeConnection.connect(temporalConnectOptions(backend.conn.temporal));
    const bundle = await bundleWorkflowCode({
      workflowsPath,
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error },
    });
    const connections = { clientConnection, workerConnection };
    return {
      backend,
      client,
      workerConnection,
      bundle,
      close: async () => {
        await connections.workerConnection.close();
        await connections.clientConnection.close();
        await backend.stop();
      },
    };
  } catch (err) {
    await workerConnection?.close().catch(() => undefined);
    await clientConnection?.close().catch(() => undefined);
    await backend.stop();
    throw err;
  }
}
