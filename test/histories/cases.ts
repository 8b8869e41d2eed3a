// One real run of every toolbox workflow on a test backend, kept as histories: a full_scan over
// the static fixtures side by side (its children are the six static workflows), a few seconds of
// each fuzzing workflow on its fixture, and a fuzzing campaign cancelled while it fuzzes (the
// path that reports what was found before ending as cancelled).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sleep } from '../../backend/concurrency';
import { fuzzStats } from '../../backend/fuzzing';
import { toolboxDir } from '../../backend/paths';
import { findWorkflow, startScan } from '../../backend/scan';
import { FIXTURES, type TestBackend } from '../integration/harness';
import type { NamedHistory } from './histories';

/** Verticals a backend needs to record every case. */
export const RECORDING_VERTICALS = ['generic', 'python', 'node', 'go', 'cpp', 'rust'];

const STATIC_FIXTURES = ['vulnerable-app', 'python-sast', 'js-sast', 'go-sast', 'cpp-sast', 'secrets-app'];

const FUZZ_CASES: { workflow: string; fixture: string; params: Record<string, unknown> }[] = [
  { workflow: 'atheris_fuzzing', fixture: 'fuzz-python', params: { seed_corpus: 'seeds' } },
  { workflow: 'cargo_fuzzing', fixture: 'fuzz-rust', params: { seed_corpus: 'seeds' } },
  { workflow: 'go_fuzzing', fixture: 'fuzz-go', params: {} },
  { workflow: 'libfuzzer_fuzzing', fixture: 'fuzz-cpp', params: { seed_corpus: 'seeds' } },
];

/** Seconds each recorded fuzzing campaign fuzzes a harness. */
const FUZZ_SECONDS = 3;

async function historyOf(backend: TestBackend, workflowId: string, name: string): Promise<NamedHistory> {
  const handle = backend.runs.client.workflow.getHandle(workflowId);
  const description = await handle.describe();
  return { name, workflowType: description.type, workflowId, history: await handle.fetchHistory() };
}

async function runToEnd(
  backend: TestBackend,
  workflow: string,
  workspace: string,
  params: Record<string, unknown>,
  baseline: string | false = false,
  matchAfterMs?: number,
) {
  const wf = findWorkflow(toolboxDir(), workflow);
  const { run } = await startScan(backend.conn, backend.runs, {
    path: workspace,
    workflow: wf,
    params,
    baseline,
    ...(matchAfterMs ? { matchAfterMs } : {}),
  });
  await backend.runs.result(run.runId);
  return run.runId;
}

/** Run every case on `backend` (which serves RECORDING_VERTICALS) and return their histories. */
export async function recordToolboxHistories(backend: TestBackend, log: (line: string) => void = () => undefined) {
  const out: NamedHistory[] = [];

  const mixed = path.join(backend.root, 'histories', 'mixed');
  for (const name of STATIC_FIXTURES) {
    fs.cpSync(path.join(FIXTURES, name), path.join(mixed, name), { recursive: true });
  }
  log('full_scan over the static fixtures');
  const fullScan = await runToEnd(backend, 'full_scan', mixed, {});
  out.push(await historyOf(backend, fullScan, 'full_scan.static-fixtures'));
  const children = (await backend.runs.client.workflow.getHandle(fullScan).fetchHistory()).events
    ?.map((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId)
    .filter((id): id is string => typeof id === 'string');
  for (const childId of children ?? []) {
    const child = await historyOf(backend, childId, '');
    out.push({ ...child, name: `${child.workflowType}.full_scan-child` });
  }

  // A scan compared with the one before (an edit in between): its baseline matching too.
  log('security_assessment twice, the second against the first');
  const again = path.join(backend.root, 'histories', 'vulnerable-app-again');
  fs.cpSync(path.join(FIXTURES, 'vulnerable-app'), again, { recursive: true });
  const first = await runToEnd(backend, 'security_assessment', again, {});
  fs.appendFileSync(path.join(again, 'python', 'app.py'), '\nsecond = eval(input())\n');
  const second = await runToEnd(backend, 'security_assessment', again, {}, first);
  out.push(await historyOf(backend, second, 'security_assessment.baseline'));
  // The same with the pause before matching that run on save asks for (a timer).
  fs.appendFileSync(path.join(again, 'python', 'app.py'), '\nthird = eval(input())\n');
  const third = await runToEnd(backend, 'security_assessment', again, {}, second, 200);
  out.push(await historyOf(backend, third, 'security_assessment.baseline-paused'));

  for (const c of FUZZ_CASES) {
    log(`${c.workflow}: ${FUZZ_SECONDS} s on ${c.fixture}`);
    const workspace = path.join(backend.root, 'histories', c.fixture);
    fs.cpSync(path.join(FIXTURES, c.fixture), workspace, { recursive: true });
    const runId = await runToEnd(backend, c.workflow, workspace, { ...c.params, max_total_time: FUZZ_SECONDS });
    out.push(await historyOf(backend, runId, `${c.workflow}.${FUZZ_SECONDS}s`));
  }

  log('atheris_fuzzing cancelled while it fuzzes');
  const workspace = path.join(backend.root, 'histories', 'fuzz-python-cancel');
  fs.cpSync(path.join(FIXTURES, 'fuzz-python'), workspace, { recursive: true });
  const wf = findWorkflow(toolboxDir(), 'atheris_fuzzing');
  const { run } = await startScan(backend.conn, backend.runs, {
    path: workspace,
    workflow: wf,
    params: { max_total_time: 600 },
    baseline: false,
  });
  const deadline = Date.now() + 180_000;
  while (!((await fuzzStats(backend.runs, run.runId).catch(() => undefined))?.latest?.execs ?? 0)) {
    if (Date.now() > deadline) {
      throw new Error(`atheris_fuzzing ${run.runId} reported no executions within 3 min`);
    }
    await sleep(500);
  }
  await backend.runs.cancel(run.runId);
  await backend.runs.result(run.runId).catch(() => undefined);
  out.push(await historyOf(backend, run.runId, 'atheris_fuzzing.cancelled'));
  return out;
}
