/** Everything a client or a worker needs to reach a backend, whatever runs it. */
export interface BackendConnection {
  mode: 'embedded' | 'compose' | 'external';
  temporal: { address: string; namespace: string; uiUrl?: string };
  storage: {
    /** http(s)://host:port of the S3 API. */
    endpoint: string;
    accessKey: string;
    secretKey: string;
    region: string;
    consoleUrl?: string;
  };
  buckets: { targets: string; results: string };
  /** Compose mode: the state folder whose compose.json describes the stack (to start workers on demand). */
  composeStateDir?: string;
}

export const DEFAULT_BUCKETS = { targets: 'fuzzforge-targets', results: 'fuzzforge-results' } as const;

/** Environment variables that hand a connection to a worker process or container. */
export function connectionToEnv(conn: BackendConnection): Record<string, string> {
  return {
    FUZZFORGE_TEMPORAL_ADDRESS: conn.temporal.address,
    FUZZFORGE_TEMPORAL_NAMESPACE: conn.temporal.namespace,
    FUZZFORGE_S3_ENDPOINT: conn.storage.endpoint,
    FUZZFORGE_S3_ACCESS_KEY: conn.storage.accessKey,
    FUZZFORGE_S3_SECRET_KEY: conn.storage.secretKey,
    FUZZFORGE_S3_REGION: conn.storage.region,
    FUZZFORGE_BUCKET_TARGETS: conn.buckets.targets,
    FUZZFORGE_BUCKET_RESULTS: conn.buckets.results,
  };
}

/** The inverse of connectionToEnv; undefined when the variables are not all there. */
export function connectionFromEnv(env: NodeJS.ProcessEnv): BackendConnection | undefined {
  const address = env.FUZZFORGE_TEMPORAL_ADDRESS;
  const endpoint = env.FUZZFORGE_S3_ENDPOINT;
  const accessKey = env.FUZZFORGE_S3_ACCESS_KEY;
  const secretKey = env.FUZZFORGE_S3_SECRET_KEY;
  if (!address || !endpoint || !accessKey || !secretKey) {
    return undefined;
  }
  return {
    mode: 'external',
    temporal: { address, namespace: env.FUZZFORGE_TEMPORAL_NAMESPACE || 'default' },
    storage: { endpoint, accessKey, secretKey, region: env.FUZZFORGE_S3_REGION || 'us-east-1' },
    buckets: {
      targets: env.FUZZFORGE_BUCKET_TARGETS || DEFAULT_BUCKETS.targets,
      results: env.FUZZFORGE_BUCKET_RESULTS || DEFAULT_BUCKETS.results,
    },
  };
}
