import { fuzzCampaign, type FuzzWorkflowInput } from '../../shared/fuzzCampaign';
import type { ScanSummary } from '../../shared/definitions';

/** go-fuzz campaign over the workspace's harnesses; see metadata.yaml for the parameters. */
export async function go_fuzzing(input: FuzzWorkflowInput): Promise<ScanSummary> {
  return fuzzCampaign('go-fuzz', 'go_fuzzing', input);
}
