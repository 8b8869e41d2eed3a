import type { activities as cppcheckActivities } from '../../modules/sast/cppcheck';
import type { activities as flawfinderActivities } from '../../modules/sast/flawfinder';
import type { FileContextParams, ScanSummary, WorkflowInput } from '../../shared/definitions';
import { sastScan, scanActivities } from '../../shared/sastScan';

export interface CppSastParams extends FileContextParams {
  exclude: string[];
  tools: ('cppcheck' | 'flawfinder')[];
  std: string;
  min_level: number;
  false_positive: boolean;
}

const { runCppcheck, runFlawfinder } = scanActivities<typeof cppcheckActivities & typeof flawfinderActivities>();

/** cppcheck and flawfinder in parallel over the target's C/C++ files, then one merged SARIF log. */
export async function cpp_sast(input: WorkflowInput<CppSastParams>): Promise<ScanSummary> {
  const { params } = input;
  return sastScan(
    'cpp_sast',
    input,
    {
      cppcheck: (base) => runCppcheck({ ...base, std: params.std }),
      flawfinder: (base) =>
        runFlawfinder({ ...base, minLevel: params.min_level, falsePositive: params.false_positive }),
    },
    { chosen: params.tools },
  );
}
