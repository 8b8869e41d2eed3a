// A throwaway certificate authority for tests: a CA, a server certificate for given names and
// addresses, and a client certificate (backend/services/certificates.ts makes them).
import { makeCertificates, type CertificateFiles } from '../backend/services/certificates';

export { haveOpenssl } from '../backend/services/certificates';

export type TestCerts = CertificateFiles;

/** Make a CA and the certificates it signs under `dir` (created). */
export function makeTestCerts(dir: string, server: { dns: string[]; ips: string[] }): TestCerts {
  return makeCertificates(dir, { server, days: 2, name: 'fuzzforge test' });
}
