// Hostile SARIF from a tool (bandit, semgrep, gosec, cppcheck, flawfinder, go vet and gitleaks
// write their own, normalised by normalizeToolSarif on the worker) and hostile logs reaching the
// editor (sarifToDiagnostics): a result placed outside the target must not become a marker on a
// file outside the workspace (where "suppress on this line" would write), a help link must be a
// web link (the editor opens it with openExternal), and a megabyte message must not become a
// megabyte marker. The same through a real worker and the CLI: workspace.test.ts (gitleaks).
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { sarifToDiagnostics } from '../../backend/sarif/diagnostics';
import type { SarifLog } from '../../backend/sarif/types';
import { normalizeToolSarif } from '../../toolbox/modules/reporters/sarif';

const TARGET = '/cache/fuzzforge/trees/abc';
const WORKSPACE = '/home/dev/project';

function hostileToolLog(): SarifLog {
  const at = (uri: string) => [{ physicalLocation: { artifactLocation: { uri }, region: { startLine: 1 } } }];
  return {
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'tool',
            rules: [
              { id: 'r1', helpUri: 'javascript:alert(document.cookie)' },
              { id: 'r2', helpUri: 'command:workbench.action.terminal.sendSequence?%7B%22text%22%3A%22rm%22%7D' },
              { id: 'r3', helpUri: 'file:///usr/bin/xterm' },
              { id: 'r4', helpUri: 'https://cwe.mitre.org/data/definitions/78.html' },
            ],
          },
        },
        results: [
          { ruleId: 'r1', message: { text: 'inside' }, locations: at(`${TARGET}/app.py`) },
          { ruleId: 'r2', message: { text: 'absolute outside' }, locations: at('file:///home/dev/.bashrc') },
          { ruleId: 'r3', message: { text: 'plain absolute outside' }, locations: at('/etc/passwd') },
          { ruleId: 'r4', message: { text: 'relative outside' }, locations: at('../../../../home/dev/.profile') },
          { ruleId: 'r4', message: { text: `${'A'.repeat(2_000_000)}\u001b[2J` }, locations: at('app.py') },
        ],
      },
    ],
  };
}

describe('hostile tool SARIF', () => {
  const log = normalizeToolSarif(hostileToolLog(), { targetDir: TARGET, rootUri: pathToFileURL(WORKSPACE).href });
  const diagnostics = sarifToDiagnostics(log, WORKSPACE);

  it('a result outside the target keeps no location, so it becomes no marker', () => {
    const uris = log.runs[0]?.results?.map((r) => r.locations?.[0]?.physicalLocation?.artifactLocation?.uri);
    assert.deepEqual(uris, ['app.py', undefined, undefined, undefined, 'app.py']);
    assert.deepEqual(
      diagnostics.map((d) => d.file),
      [path.join(WORKSPACE, 'app.py'), path.join(WORKSPACE, 'app.py')],
    );
  });

  it('help links other than http(s) are dropped on the worker and again in the editor', () => {
    assert.deepEqual(
      log.runs[0]?.tool.driver.rules?.map((r) => r.helpUri),
      [undefined, undefined, undefined, 'https://cwe.mitre.org/data/definitions/78.html'],
    );
    // A log that did not come through a worker (an imported file, an older backend).
    const raw = hostileToolLog();
    raw.runs[0]!.results = raw.runs[0]!.results!.map((r) => ({
      ...r,
      locations: [{ physicalLocation: { artifactLocation: { uri: 'app.py' }, region: { startLine: 1 } } }],
    }));
    assert.deepEqual(
      sarifToDiagnostics(raw, WORKSPACE).map((d) => d.helpUri),
      [
        undefined,
        undefined,
        undefined,
        'https://cwe.mitre.org/data/definitions/78.html',
        'https://cwe.mitre.org/data/definitions/78.html',
      ],
    );
  });

  it('a megabyte message becomes a marker of bounded length that says it was cut', () => {
    const long = diagnostics[1]?.message ?? '';
    assert.ok(long.length <= 10_100, `${long.length} characters`);
    assert.match(long, /… \(\d+ more characters; the full text is in the SARIF log\)$/);
  });
});
