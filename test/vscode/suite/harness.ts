// A small test runner for the extension host. The suite runs inside VS Code (desktop through
// @vscode/test-electron, or the VS Code server of code-server), where node:test's runner cannot
// report: tests run in order, each with a timeout, the first failure does not stop the rest, and
// the outcome goes to the console and, when FUZZFORGE_VSCODE_TEST_RESULTS names a file, to JSON.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface TestResult {
  name: string;
  ok: boolean;
  ms: number;
  error?: string;
  /** What the test measured (note()), for the runner to print. */
  notes?: string[];
}

interface Test {
  name: string;
  fn: () => Promise<void> | void;
  timeoutMs: number;
}

const tests: Test[] = [];
/** The notes of the test running now. */
let notes: string[] = [];

/** Record a figure of the test running now: it goes into its result (the e2e runner prints it). */
export function note(text: string): void {
  notes.push(text);
  console.log(`    ${text}`);
}

/**
 * Ask the runner for a screenshot of the window as it is now. Where the runner drives a browser
 * (the e2e test in code-server sets FUZZFORGE_VSCODE_SCREENSHOTS to a folder), it writes
 * `<name>.request` there and waits until the runner has written `<name>.png`; elsewhere it returns.
 */
export async function screenshot(name: string, timeoutMs = 30_000): Promise<void> {
  const dir = process.env.FUZZFORGE_VSCODE_SCREENSHOTS;
  if (!dir) {
    return;
  }
  const done = path.join(dir, `${name}.png`);
  fs.writeFileSync(path.join(dir, `${name}.request`), '');
  const end = Date.now() + timeoutMs;
  while (!fs.existsSync(done)) {
    if (Date.now() > end) {
      throw new Error(`no screenshot ${done} within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Register a test; they run in the order they are declared. */
export function test(name: string, fn: Test['fn'], timeoutMs = 60_000): void {
  tests.push({ name, fn, timeoutMs });
}

async function withTimeout(test: Test): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(test.fn),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${test.timeoutMs} ms`)), test.timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Run every registered test; rejects when one failed (VS Code then exits with code 1). */
export async function runAll(suite: string): Promise<TestResult[]> {
  const results: TestResult[] = [];
  console.log(`▶ ${suite}`);
  // FUZZFORGE_VSCODE_TESTS (a regular expression) runs only the tests whose names match it.
  const only = process.env.FUZZFORGE_VSCODE_TESTS ? new RegExp(process.env.FUZZFORGE_VSCODE_TESTS) : undefined;
  for (const t of tests.filter((x) => !only || only.test(x.name))) {
    const t0 = Date.now();
    notes = [];
    try {
      await withTimeout(t);
      results.push({ name: t.name, ok: true, ms: Date.now() - t0, ...(notes.length ? { notes } : {}) });
      console.log(`  ✔ ${t.name} (${Date.now() - t0} ms)`);
    } catch (err) {
      const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
      results.push({ name: t.name, ok: false, ms: Date.now() - t0, error, ...(notes.length ? { notes } : {}) });
      console.log(`  ✖ ${t.name} (${Date.now() - t0} ms)\n${error.replace(/^/gm, '      ')}`);
    }
  }
  const failed = results.filter((r) => !r.ok).length;
  console.log(`ℹ ${suite}: ${results.length - failed} passed, ${failed} failed`);
  const out = process.env.FUZZFORGE_VSCODE_TEST_RESULTS;
  if (out) {
    fs.writeFileSync(out, JSON.stringify({ suite, results }, null, 2));
  }
  if (failed > 0) {
    throw new Error(`${failed} of ${results.length} test(s) failed in ${suite}`);
  }
  return results;
}
