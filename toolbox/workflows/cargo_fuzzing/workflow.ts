import { fuzzCampaign, type FuzzWorkflowInput } from '../../shared/fuzzCampaign';
import type { ScanSummary } from '../../shared/definitions';

/** cargo-fuzz campaign over the workspace's harnesses; see metadata.yaml for the parameters. */
export async function cargo_fuzzing(input: FuzzWorkflowInput): Promise<ScanSummary> {
  return fuzzCampaign('cargo-fuzz', 'cargo_fuzzing', input);
}
