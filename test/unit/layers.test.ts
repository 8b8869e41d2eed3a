// The floors of the code (backend/ at the bottom, then toolbox/ and workers/, then extension/ and
// webview/) as eslint enforces them: an import that goes up fails the lint. Only that rule runs,
// without type information, so this stays fast.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';

const root = path.join(__dirname, '..', '..');
const RULE = 'import-x/no-restricted-paths';

function floorsOnly(): ESLint {
  return new ESLint({
    cwd: root,
    overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
    ruleFilter: ({ ruleId }) => ruleId === RULE,
  });
}

async function violations(eslint: ESLint, file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${source}\nexport const probe = 1;\n`, { filePath: path.join(root, file) });
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

describe('import floors', () => {
  const eslint = floorsOnly();
  const cases: [file: string, source: string, allowed: boolean][] = [
    ['backend/fuzzing.ts', "import { ENGINES } from '../toolbox/modules/fuzzing/engines';", false],
    ['backend/scan.ts', "import { COMMAND_IDS } from '../extension/commandIds';", false],
    ['backend/scan.ts', "import type { StatsUpdate } from '../webview/protocol';", false],
    ['backend/scan.ts', "import { TOOLBOX } from '../workers/toolboxLoader';", false],
    ['backend/services/compose.ts', "import { taskQueueFor } from '../../toolbox/shared/definitions';", true],
    ['toolbox/modules/runtime.ts', "import { COMMAND_IDS } from '../../extension/commandIds';", false],
    ['toolbox/modules/runtime.ts', "import { killGroup } from '../../backend/processGroup';", true],
    ['workers/idle.ts', "import { FuzzingPanel } from '../extension/fuzzingPanel';", false],
    ['extension/runs.ts', "import { runTool } from '../toolbox/modules/process';", false],
    ['extension/runs.ts', "import { listCrashes } from '../backend/fuzzing';", true],
    ['webview/stats/main.ts', "import { fuzzStats } from '../../backend/fuzzing';", false],
    ['webview/stats/main.ts', "import { COMMAND_IDS } from '../../extension/commandIds';", false],
    ['webview/stats/main.ts', "import type { SarifLog } from '../../backend/sarif/types';", true],
    ['webview/stats/main.ts', "import type { CrashRecord } from '../../toolbox/shared/fuzzing';", true],
  ];
  for (const [file, source, allowed] of cases) {
    it(`${allowed ? 'allows' : 'refuses'} in ${file}: ${source}`, async () => {
      const found = await violations(eslint, file, source);
      if (allowed) {
        assert.deepEqual(found, []);
      } else {
        assert.equal(found.length, 1, found.join('\n') || 'no violation reported');
        assert.match(found[0]!, new RegExp(`^${RULE}: Unexpected path`));
      }
    });
  }

  it('holds for the whole tree', async () => {
    const results = await eslint.lintFiles(['backend', 'toolbox', 'workers', 'extension', 'webview']);
    const found = results.flatMap((r) =>
      r.messages.map((m) => `${path.relative(root, r.filePath)}:${m.line} ${m.message}`),
    );
    assert.ok(results.length > 100, `linted only ${results.length} files`);
    assert.deepEqual(found, []);
  });
});
