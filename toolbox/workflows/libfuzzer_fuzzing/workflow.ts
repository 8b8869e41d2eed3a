import { fuzzCampaign, type FuzzWorkflowInput } from '../../shared/fuzzCampaign';
import type { ScanSummary } from '../../shared/definitions';

/** libfuzzer campaign over the workspace's harnesses; see metadata.yaml for the parameters. */
export async function libfuzzer_fuzzing(input: FuzzWorkflowInput): Promise<ScanSummary> {
  return fuzzCampaign('libfuzzer', 'libfuzzer_fuzzing', input);
}
