// The one way to open a Temporal connection: the client (CLI, extension, activities, services)
// and the worker's native connection take the same options, so TLS, mutual TLS and an API key
// apply everywhere or nowhere. This module loads only @temporalio/client: the worker passes the
// options to its own NativeConnection, which never loads in the extension host.
import type * as TemporalClient from '@temporalio/client';
import type { Connection } from '@temporalio/client';
import { FILE_VARIABLES, readConnectionFile, type BackendConnection } from '../services/connection';

/** The connection options both Connection.connect and NativeConnection.connect accept. */
export interface TemporalConnectOptions {
  address: string;
  tls?:
    | boolean
    | {
        serverNameOverride?: string;
        serverRootCACertificate?: Buffer;
        clientCertPair?: { crt: Buffer; key: Buffer };
      };
  apiKey?: string;
}

/**
 * Options for a connection to `temporal`: the PEM files are read now, and an unreadable one
 * throws a UserError naming its variable.
 */
export function temporalConnectOptions(
  temporal: Pick<BackendConnection['temporal'], 'address' | 'tls' | 'apiKey' | 'plaintext'>,
): TemporalConnectOptions {
  const options: TemporalConnectOptions = { address: temporal.address };
  const tls = temporal.tls;
  if (tls) {
    options.tls = {
      ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
      ...(tls.serverCaFile
        ? { serverRootCACertificate: readConnectionFile(FILE_VARIABLES.serverCaFile, tls.serverCaFile) }
        : {}),
      ...(tls.clientCertFile && tls.clientKeyFile
        ? {
            clientCertPair: {
              crt: readConnectionFile(FILE_VARIABLES.clientCertFile, tls.clientCertFile),
              key: readConnectionFile(FILE_VARIABLES.clientKeyFile, tls.clientKeyFile),
            },
          }
        : {}),
    };
  } else if (temporal.plaintext) {
    options.tls = false;
  }
  if (temporal.apiKey) {
    options.apiKey = temporal.apiKey;
  }
  return options;
}

/**
 * The client SDK (and its protocol definitions, a few hundred ms to load), loaded with the first
 * connection rather than with this file: commands and editor code that never reach Temporal
 * start without it.
 */
export function temporalClient(): typeof TemporalClient {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
  return require('@temporalio/client') as typeof TemporalClient;
}

/** A client connection to the backend's Temporal (close it when done). */
export function connectTemporal(
  temporal: Pick<BackendConnection['temporal'], 'address' | 'tls' | 'apiKey' | 'plaintext'>,
  connectTimeoutMs?: number,
): Promise<Connection> {
  return temporalClient().Connection.connect({
    ...temporalConnectOptions(temporal),
    ...(connectTimeoutMs !== undefined ? { connectTimeout: connectTimeoutMs } : {}),
  });
}
