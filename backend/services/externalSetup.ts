// `fuzzforge setup --external`: make an external Temporal namespace and S3 endpoint ready for
// FuzzForge once, instead of by hand: the search attributes runs are listed by, and the two
// private buckets with their expiry rules. Safe to run again: what exists is left as it is.
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { UserError } from '../errors';
import { ObjectStore, type Retention } from '../storage/objectStore';
import { connectTemporal } from '../temporal/connect';
import type { BackendConnection } from './connection';
import { SEARCH_ATTRIBUTES } from './embedded';

export interface ExternalSetupReport {
  namespace: string;
  searchAttributes: { name: string; type: string; action: 'added' | 'present' }[];
  buckets: { targets: string; results: string };
}

/** gRPC status codes the operator service answers with. */
const GRPC = { ALREADY_EXISTS: 6, PERMISSION_DENIED: 7, NOT_FOUND: 5, UNIMPLEMENTED: 12 } as const;

function grpcCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Register the search attributes on the namespace and create the buckets; says what it did. */
export async function setupExternal(
  conn: BackendConnection,
  retention: Retention,
  onProgress: (line: string) => void = () => undefined,
): Promise<ExternalSetupReport> {
  const { namespace, address } = conn.temporal;
  let connection;
  try {
    connection = await connectTemporal(conn.temporal, 10_000);
  } catch (err) {
    throw new UserError(
      `cannot reach Temporal at ${address}: ${(err as Error).message}`,
      'check FUZZFORGE_TEMPORAL_ADDRESS and the FUZZFORGE_TEMPORAL_TLS_* / FUZZFORGE_TEMPORAL_API_KEY settings',
    );
  }
  const searchAttributes: ExternalSetupReport['searchAttributes'] = [];
  try {
    try {
      await connection.workflowService.describeNamespace({ namespace });
    } catch (err) {
      if (grpcCode(err) === GRPC.NOT_FOUND) {
        throw new UserError(
          `namespace "${namespace}" does not exist on ${address}`,
          `create it (temporal operator namespace create --namespace ${namespace}) or set FUZZFORGE_TEMPORAL_NAMESPACE`,
        );
      }
      throw err;
    }
    const existing = (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) {
      const wanted = encodeSearchAttributeIndexedValueType(type.toUpperCase() as 'KEYWORD');
      if (wanted === undefined) {
        throw new Error(`unknown search attribute type ${type}`);
      }
      const have = existing[name];
      if (have !== undefined && have !== null) {
        if (have !== wanted) {
          throw new UserError(
            `search attribute ${name} exists on namespace "${namespace}" with another type (${String(have)}); FuzzForge needs ${type}`,
            'remove it (temporal operator search-attribute remove) or use another namespace',
          );
        }
        searchAttributes.push({ name, type, action: 'present' });
        continue;
      }
      try {
        await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: { [name]: wanted } });
        searchAttributes.push({ name, type, action: 'added' });
      } catch (err) {
        if (grpcCode(err) === GRPC.ALREADY_EXISTS) {
          // Another set-up added it between our list and our add.
          searchAttributes.push({ name, type, action: 'present' });
        } else if (grpcCode(err) === GRPC.PERMISSION_DENIED || grpcCode(err) === GRPC.UNIMPLEMENTED) {
          throw new UserError(
            `Temporal at ${address} does not let this client add search attribute ${name}: ${(err as Error).message}`,
            `register ${Object.keys(SEARCH_ATTRIBUTES).join(', ')} (Keyword) on namespace "${namespace}" with your ` +
              "provider's tools (Temporal Cloud: the web UI or tcld), then run this again",
          );
        } else {
          throw err;
        }
      }
      onProgress(`search attribute ${name} (${type}) added to namespace ${namespace}`);
    }
  } finally {
    await connection.close();
  }
  try {
    await new ObjectStore(conn).ensureBuckets(retention);
  } catch (err) {
    if (err instanceof UserError) {
      throw err;
    }
    throw new UserError(
      `cannot set up the buckets on ${conn.storage.endpoint}: ${(err as Error).message}`,
      'check FUZZFORGE_S3_ENDPOINT, the FUZZFORGE_S3_* credentials (they need bucket create and lifecycle rights) and FUZZFORGE_S3_TLS_CA',
    );
  }
  return { namespace, searchAttributes, buckets: conn.buckets };
}
