import { fuzzCampaign, type FuzzWorkflowInput } from '../../shared/fuzzCampaign';
import type { ScanSummary } from '../../shared/definitions';

/** atheris campaign over the workspace's harnesses; see metadata.yaml for the parameters. */
export async function atheris_fuzzing(input: FuzzWorkflowInput): Promise<ScanSummary> {
  return fuzzCampaign('atheris', 'atheris_fuzzing', input);
}
