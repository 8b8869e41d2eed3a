import type { activities as eslintActivities } from '../../modules/sast/eslint';
import type { FileContextParams, ScanSummary, WorkflowInput } from '../../shared/definitions';
import { sastScan, scanActivities } from '../../shared/sastScan';

export interface JsSastParams extends FileContextParams {
  exclude: string[];
  tools: 'eslint'[];
  min_level: 'note' | 'warning' | 'error';
  extra_eslint_rules: Record<string, unknown>;
}

const { runEslint } = scanActivities<typeof eslintActivities>();

/** eslint with eslint-plugin-security over the JS/TS files (more tools run in parallel), then one SARIF log. */
export async function js_sast(input: WorkflowInput<JsSastParams>): Promise<ScanSummary> {
  const { params } = input;
  return sastScan(
    'js_sast',
    input,
    { eslint: (base) => runEslint({ ...base, minLevel: params.min_level, extraRules: params.extra_eslint_rules }) },
    { chosen: params.tools },
  );
}
