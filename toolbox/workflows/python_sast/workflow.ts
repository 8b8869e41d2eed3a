import type { activities as banditActivities } from '../../modules/sast/bandit';
import type { activities as semgrepActivities } from '../../modules/sast/semgrep';
import type { FileContextParams, ScanSummary, WorkflowInput } from '../../shared/definitions';
import { sastScan, scanActivities } from '../../shared/sastScan';

export interface PythonSastParams extends FileContextParams {
  exclude: string[];
  tools: ('bandit' | 'semgrep')[];
  min_level: 'note' | 'warning' | 'error';
  bandit_skips: string[];
  extra_semgrep_rules: string[];
}

const { runBandit, runSemgrep } = scanActivities<typeof banditActivities & typeof semgrepActivities>();

/** bandit and semgrep in parallel over the Python files, then one merged SARIF log. */
export async function python_sast(input: WorkflowInput<PythonSastParams>): Promise<ScanSummary> {
  const { params } = input;
  return sastScan(
    'python_sast',
    input,
    {
      bandit: (base) => runBandit({ ...base, minLevel: params.min_level, skips: params.bandit_skips }),
      semgrep: (base) => runSemgrep({ ...base, minLevel: params.min_level, extraRules: params.extra_semgrep_rules }),
    },
    { chosen: params.tools },
  );
}
