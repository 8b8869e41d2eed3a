import * as fs from 'node:fs';
import { UserError } from '../errors';

/**
 * TLS towards a Temporal frontend that is not ours (a cluster, another host): files in PEM form.
 * An empty object means TLS with the system's root certificates.
 */
export interface TemporalTls {
  /** CA that signed the server's certificate (default: the system's roots). */
  serverCaFile?: string;
  /** Client certificate and key for mutual TLS (both or neither). */
  clientCertFile?: string;
  clientKeyFile?: string;
  /** The name the server's certificate is checked against, when it differs from the address's host. */
  serverName?: string;
}

/** Everything a client or a worker needs to reach a backend, whatever runs it. */
export interface BackendConnection {
  mode: 'embedded' | 'compose' | 'external';
  temporal: {
    address: string;
    namespace: string;
    uiUrl?: string;
    /** The embedded backend's UI front asks for this secret (see temporalUiLink). */
    uiToken?: string;
    /** Absent: plaintext (or the SDK's default with an API key). */
    tls?: TemporalTls;
    /** Explicit `FUZZFORGE_TEMPORAL_TLS=0`: plaintext even with an API key. */
    plaintext?: boolean;
    apiKey?: string;
  };
  storage: {
    /** http(s)://host:port of the S3 API. */
    endpoint: string;
    accessKey: string;
    secretKey: string;
    /** Temporary credentials (STS) carry a session token beside the key pair. */
    sessionToken?: string;
    region: string;
    /** PEM file of the CA that signed an https endpoint's certificate (default: the system's roots). */
    caFile?: string;
    consoleUrl?: string;
  };
  buckets: { targets: string; results: string };
  /** Compose mode: the state folder whose compose.json describes the stack (to start workers on demand). */
  composeStateDir?: string;
}

export const DEFAULT_BUCKETS = { targets: 'fuzzforge-targets', results: 'fuzzforge-results' } as const;

/**
 * The variables that describe a connection. They reach the backend's own processes (workers)
 * only: backend/environment.ts removes every one of them from a tool's environment.
 */
export const CONNECTION_VARIABLES = [
  'FUZZFORGE_TEMPORAL_ADDRESS',
  'FUZZFORGE_TEMPORAL_NAMESPACE',
  'FUZZFORGE_TEMPORAL_TLS',
  'FUZZFORGE_TEMPORAL_TLS_CA',
  'FUZZFORGE_TEMPORAL_TLS_CERT',
  'FUZZFORGE_TEMPORAL_TLS_KEY',
  'FUZZFORGE_TEMPORAL_TLS_SERVER_NAME',
  'FUZZFORGE_TEMPORAL_API_KEY',
  'FUZZFORGE_S3_ENDPOINT',
  'FUZZFORGE_S3_ACCESS_KEY',
  'FUZZFORGE_S3_SECRET_KEY',
  'FUZZFORGE_S3_SESSION_TOKEN',
  'FUZZFORGE_S3_REGION',
  'FUZZFORGE_S3_TLS_CA',
  'FUZZFORGE_BUCKET_TARGETS',
  'FUZZFORGE_BUCKET_RESULTS',
] as const;

/** The variable that sets each file of a connection, for error messages. */
export const FILE_VARIABLES = {
  serverCaFile: 'FUZZFORGE_TEMPORAL_TLS_CA',
  clientCertFile: 'FUZZFORGE_TEMPORAL_TLS_CERT',
  clientKeyFile: 'FUZZFORGE_TEMPORAL_TLS_KEY',
  s3CaFile: 'FUZZFORGE_S3_TLS_CA',
} as const;

/** A Temporal UI link with the token its front asks for, when there is one. */
export function withUiToken(url: string, token: string | undefined): string {
  if (!token) {
    return url;
  }
  const link = new URL(url);
  link.searchParams.set('token', token);
  return link.toString();
}

/** Environment variables that hand a connection to a worker process or container. */
export function connectionToEnv(conn: BackendConnection): Record<string, string> {
  const env: Record<string, string> = {
    FUZZFORGE_TEMPORAL_ADDRESS: conn.temporal.address,
    FUZZFORGE_TEMPORAL_NAMESPACE: conn.temporal.namespace,
    FUZZFORGE_S3_ENDPOINT: conn.storage.endpoint,
    FUZZFORGE_S3_ACCESS_KEY: conn.storage.accessKey,
    FUZZFORGE_S3_SECRET_KEY: conn.storage.secretKey,
    FUZZFORGE_S3_REGION: conn.storage.region,
    FUZZFORGE_BUCKET_TARGETS: conn.buckets.targets,
    FUZZFORGE_BUCKET_RESULTS: conn.buckets.results,
  };
  const tls = conn.temporal.tls;
  const optional: [string, string | undefined][] = [
    ['FUZZFORGE_TEMPORAL_TLS', tls ? '1' : conn.temporal.plaintext ? '0' : undefined],
    ['FUZZFORGE_TEMPORAL_TLS_CA', tls?.serverCaFile],
    ['FUZZFORGE_TEMPORAL_TLS_CERT', tls?.clientCertFile],
    ['FUZZFORGE_TEMPORAL_TLS_KEY', tls?.clientKeyFile],
    ['FUZZFORGE_TEMPORAL_TLS_SERVER_NAME', tls?.serverName],
    ['FUZZFORGE_TEMPORAL_API_KEY', conn.temporal.apiKey],
    ['FUZZFORGE_S3_SESSION_TOKEN', conn.storage.sessionToken],
    ['FUZZFORGE_S3_TLS_CA', conn.storage.caFile],
  ];
  for (const [name, value] of optional) {
    if (value) {
      env[name] = value;
    }
  }
  return env;
}

/**
 * The inverse of connectionToEnv; undefined when the four required variables are not all there.
 * Optional settings that are wrong (an unreadable CA file, a key without its certificate, an
 * endpoint that is not a URL) throw a UserError naming the variable.
 */
export function connectionFromEnv(env: NodeJS.ProcessEnv): BackendConnection | undefined {
  const address = env.FUZZFORGE_TEMPORAL_ADDRESS;
  const endpoint = env.FUZZFORGE_S3_ENDPOINT;
  const accessKey = env.FUZZFORGE_S3_ACCESS_KEY;
  const secretKey = env.FUZZFORGE_S3_SECRET_KEY;
  if (!address || !endpoint || !accessKey || !secretKey) {
    return undefined;
  }
  if (!/^\[?[^\s/]+\]?:\d{1,5}$/.test(address)) {
    throw new UserError(
      `FUZZFORGE_TEMPORAL_ADDRESS "${address}" is not HOST:PORT`,
      'for example temporal.example.com:7233 or 10.0.0.5:7233 (no scheme)',
    );
  }
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new UserError(`FUZZFORGE_S3_ENDPOINT "${endpoint}" is not a URL`, 'for example https://s3.example.com:9000');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UserError(`FUZZFORGE_S3_ENDPOINT "${endpoint}" must start with http:// or https://`);
  }
  const tlsFlag = parseFlag(env, 'FUZZFORGE_TEMPORAL_TLS');
  const tls: TemporalTls = {
    serverCaFile: readableFile(env, 'FUZZFORGE_TEMPORAL_TLS_CA'),
    clientCertFile: readableFile(env, 'FUZZFORGE_TEMPORAL_TLS_CERT'),
    clientKeyFile: readableFile(env, 'FUZZFORGE_TEMPORAL_TLS_KEY'),
    serverName: env.FUZZFORGE_TEMPORAL_TLS_SERVER_NAME || undefined,
  };
  if (Boolean(tls.clientCertFile) !== Boolean(tls.clientKeyFile)) {
    throw new UserError(
      'FUZZFORGE_TEMPORAL_TLS_CERT and FUZZFORGE_TEMPORAL_TLS_KEY go together',
      'mutual TLS needs both the client certificate and its key (PEM files)',
    );
  }
  const tlsFiles = Object.values(tls).some(Boolean);
  if (tlsFlag === false && tlsFiles) {
    throw new UserError('FUZZFORGE_TEMPORAL_TLS=0 contradicts the FUZZFORGE_TEMPORAL_TLS_* settings', 'remove one');
  }
  const s3Ca = readableFile(env, 'FUZZFORGE_S3_TLS_CA');
  if (s3Ca && url.protocol !== 'https:') {
    throw new UserError(
      `FUZZFORGE_S3_TLS_CA is set but FUZZFORGE_S3_ENDPOINT "${endpoint}" is not https`,
      'use an https:// endpoint, or unset FUZZFORGE_S3_TLS_CA',
    );
  }
  return {
    mode: 'external',
    temporal: {
      address,
      namespace: env.FUZZFORGE_TEMPORAL_NAMESPACE || 'default',
      ...(tlsFlag || tlsFiles ? { tls: dropUndefined(tls) } : {}),
      ...(tlsFlag === false ? { plaintext: true } : {}),
      ...(env.FUZZFORGE_TEMPORAL_API_KEY ? { apiKey: env.FUZZFORGE_TEMPORAL_API_KEY } : {}),
    },
    storage: {
      endpoint,
      accessKey,
      secretKey,
      region: env.FUZZFORGE_S3_REGION || 'us-east-1',
      ...(env.FUZZFORGE_S3_SESSION_TOKEN ? { sessionToken: env.FUZZFORGE_S3_SESSION_TOKEN } : {}),
      ...(s3Ca ? { caFile: s3Ca } : {}),
    },
    buckets: {
      targets: bucketName(env, 'FUZZFORGE_BUCKET_TARGETS', DEFAULT_BUCKETS.targets),
      results: bucketName(env, 'FUZZFORGE_BUCKET_RESULTS', DEFAULT_BUCKETS.results),
    },
  };
}

/** A PEM file named by a connection variable, read now; the error names the variable. */
export function readConnectionFile(variable: string, file: string): Buffer {
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch (err) {
    throw new UserError(
      `${variable}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      `point ${variable} at a readable PEM file`,
    );
  }
  if (!data.toString('latin1').includes('-----BEGIN ')) {
    throw new UserError(
      `${variable}: ${file} is not a PEM file (no -----BEGIN line)`,
      `point ${variable} at a PEM file`,
    );
  }
  return data;
}

function readableFile(env: NodeJS.ProcessEnv, variable: string): string | undefined {
  const file = env[variable];
  if (!file) {
    return undefined;
  }
  readConnectionFile(variable, file);
  return file;
}

function parseFlag(env: NodeJS.ProcessEnv, variable: string): boolean | undefined {
  const value = env[variable]?.trim().toLowerCase();
  if (!value) {
    return undefined;
  }
  if (['1', 'true', 'yes', 'on'].includes(value)) {
    return true;
  }
  if (['0', 'false', 'no', 'off'].includes(value)) {
    return false;
  }
  throw new UserError(`${variable}="${env[variable]}" is not a yes/no value`, 'use 1 or 0');
}

function bucketName(env: NodeJS.ProcessEnv, variable: string, fallback: string): string {
  const name = env[variable] || fallback;
  // S3's rules for bucket names (the subset every implementation accepts).
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) || name.includes('..')) {
    throw new UserError(
      `${variable} "${name}" is not a valid bucket name`,
      '3-63 characters: lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit',
    );
  }
  return name;
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
