// The options of every S3 client the backend builds, from a connection: endpoint and TLS (with a
// private CA when FUZZFORGE_S3_TLS_CA names one), credentials (with an STS session token) and region.
import * as https from 'node:https';
import type { ClientOptions } from 'minio';
import { FILE_VARIABLES, readConnectionFile, type BackendConnection } from '../services/connection';

/** minio.Client options for a connection's storage; an unreadable CA file throws naming its variable. */
export function s3ClientOptions(storage: BackendConnection['storage']): ClientOptions {
  const url = new URL(storage.endpoint);
  const useSSL = url.protocol === 'https:';
  return {
    endPoint: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: storage.accessKey,
    secretKey: storage.secretKey,
    ...(storage.sessionToken ? { sessionToken: storage.sessionToken } : {}),
    region: storage.region,
    pathStyle: true,
    ...(useSSL && storage.caFile
      ? {
          transportAgent: new https.Agent({
            keepAlive: true,
            ca: readConnectionFile(FILE_VARIABLES.s3CaFile, storage.caFile),
          }),
        }
      : {}),
  };
}
