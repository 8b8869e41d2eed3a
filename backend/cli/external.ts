// `fuzzforge setup --external`: the one-time set-up of an external backend (FUZZFORGE_TEMPORAL_*
// and FUZZFORGE_S3_* settings), printed as what it did.
import { describeError, UserError } from '../errors';
import { stateDir } from '../paths';
import { type BackendConnection, connectionFromEnv } from '../services/connection';
import { defaultEmbeddedOptions } from '../services/embedded';
import { setupExternal } from '../services/externalSetup';
import { ObjectStore } from '../storage/objectStore';
import { connectTemporal } from '../temporal/connect';
import { taskQueueFor } from '../../toolbox/shared/definitions';
import { table } from './format';

/** Register the search attributes and create the buckets on the configured external backend. */
export async function cmdSetupExternal(
  io: { out(text: string): void; err(text: string): void },
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const conn = connectionFromEnv(env);
  if (!conn) {
    throw new UserError(
      'setup --external needs the external backend settings',
      'set FUZZFORGE_TEMPORAL_ADDRESS, FUZZFORGE_S3_ENDPOINT, FUZZFORGE_S3_ACCESS_KEY and FUZZFORGE_S3_SECRET_KEY (README: external backend)',
    );
  }
  // The same expiry settings (FUZZFORGE_*_RETENTION_DAYS) as the embedded and compose buckets.
  const { retention } = defaultEmbeddedOptions(stateDir(env), env);
  const report = await setupExternal(conn, retention, (line) => io.err(line));
  io.out(`Temporal ${conn.temporal.address}, namespace ${report.namespace}:`);
  for (const a of report.searchAttributes) {
    io.out(`  search attribute ${a.name} (${a.type}): ${a.action === 'added' ? 'registered' : 'already registered'}`);
  }
  io.out(`S3 ${conn.storage.endpoint}:`);
  io.out(`  bucket ${report.buckets.targets}: ready, objects expire after ${retention.targetsDays} d (0 = never)`);
  io.out(`  bucket ${report.buckets.results}: ready, runs/ expire after ${retention.resultsDays} d (0 = never)`);
  io.out('workers on other hosts: node dist/worker.js --vertical V with the same FUZZFORGE_* settings');
  return 0;
}

export interface ExternalStatus {
  mode: 'external';
  temporal: { address: string; namespace: string; tls: boolean; healthy: boolean; error?: string };
  storage: { endpoint: string; healthy: boolean; buckets: Record<string, boolean>; error?: string };
  /** Workers polling each vertical's queue now, by the identity they poll with (host and address). */
  verticals: { vertical: string; workflows: string[]; pollers: string[] }[];
}

/** Health of an external backend and the workers (on any host) that poll it. */
export async function externalStatus(conn: BackendConnection, verticals: readonly string[]): Promise<ExternalStatus> {
  const status: ExternalStatus = {
    mode: 'external',
    temporal: {
      address: conn.temporal.address,
      namespace: conn.temporal.namespace,
      tls: Boolean(conn.temporal.tls),
      healthy: false,
    },
    storage: { endpoint: conn.storage.endpoint, healthy: false, buckets: {} },
    verticals: verticals.map((vertical) => ({ vertical, workflows: [], pollers: [] })),
  };
  await Promise.all([
    (async () => {
      try {
        const connection = await connectTemporal(conn.temporal, 5000);
        try {
          await connection.workflowService.describeNamespace({ namespace: conn.temporal.namespace });
          status.temporal.healthy = true;
          for (const v of status.verticals) {
            const res = await connection.workflowService.describeTaskQueue({
              namespace: conn.temporal.namespace,
              taskQueue: { name: taskQueueFor(v.vertical) },
              taskQueueType: 1,
            });
            v.pollers = (res.pollers ?? []).map((p) => p.identity ?? '?').sort();
          }
        } finally {
          await connection.close();
        }
      } catch (err) {
        status.temporal.error = describeError(err);
      }
    })(),
    (async () => {
      try {
        const store = new ObjectStore(conn);
        for (const bucket of [conn.buckets.targets, conn.buckets.results]) {
          status.storage.buckets[bucket] = await store.client.bucketExists(bucket);
        }
        status.storage.healthy = Object.values(status.storage.buckets).every(Boolean);
      } catch (err) {
        status.storage.error = describeError(err);
      }
    })(),
  ]);
  return status;
}

/** `fuzzforge status` against an external backend. */
export async function cmdStatusExternal(
  conn: BackendConnection,
  verticals: readonly { vertical: string; workflows: string[] }[],
  io: { out(text: string): void },
  json: boolean,
): Promise<number> {
  const status = await externalStatus(
    conn,
    verticals.map((v) => v.vertical),
  );
  for (const v of status.verticals) {
    v.workflows = verticals.find((x) => x.vertical === v.vertical)?.workflows ?? [];
  }
  if (json) {
    io.out(JSON.stringify(status, null, 2));
    return status.temporal.healthy && status.storage.healthy ? 0 : 2;
  }
  const missing = Object.entries(status.storage.buckets)
    .filter(([, ok]) => !ok)
    .map(([b]) => b);
  io.out(`external backend (namespace ${status.temporal.namespace})`);
  io.out(
    table(
      ['SERVICE', 'HEALTH', 'ADDRESS', 'NOTE'],
      [
        [
          'temporal',
          status.temporal.healthy ? 'healthy' : 'DOWN',
          status.temporal.address,
          status.temporal.error ?? (status.temporal.tls ? 'TLS' : 'plaintext'),
        ],
        [
          's3',
          status.storage.healthy ? 'healthy' : 'DOWN',
          status.storage.endpoint,
          status.storage.error ??
            (missing.length > 0 ? `missing bucket(s) ${missing.join(', ')}: run \`fuzzforge setup --external\`` : ''),
        ],
      ],
    ),
  );
  io.out('');
  io.out(
    table(
      ['VERTICAL', 'WORKERS', 'POLLERS', 'WORKFLOWS'],
      status.verticals.map((v) => [v.vertical, String(v.pollers.length), v.pollers.join(', '), v.workflows.join(', ')]),
    ),
  );
  return status.temporal.healthy && status.storage.healthy ? 0 : 2;
}
