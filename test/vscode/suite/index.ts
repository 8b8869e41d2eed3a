// Entry point VS Code loads from --extensionTestsPath (bundled to out/vscode-suite/index.js by
// `node esbuild.js --vscode-suite`): registers the suite's tests and runs them.
import { runAll } from './harness';
import './extension.suite';
import './debug.suite';
import './runOnSave.suite';

export async function run(): Promise<void> {
  await runAll('FuzzForge extension host suite');
}
