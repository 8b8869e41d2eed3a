// `fuzzforge`: the command line front end. Thin: every step is a backend function the VS Code
// extension calls too. Exit codes: 0 ok, 1 findings at or above --fail-on, 2 usage/infrastructure.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { version } from '../../package.json';
import { describeError, UserError } from '../errors';
import { distEntry, stateDir, toolboxDir } from '../paths';
import { failOnExitCode, findingRows, type FailOn } from '../sarif/log';
import { checkSarifMultitool } from '../sarif/multitool';
import type { SarifLog } from '../sarif/types';
import { awaitScan, describeLeftOut, fetchSarif, findWorkflow, startScan } from '../scan';
import { ensureServiceBinary, findServiceBinary, SERVICE_BINARIES } from '../services/binaries';
import { parseBackendMode, resolveBackend } from '../services/backend';
import { runningCompose } from '../services/compose';
import { type BackendConnection, connectionFromEnv, withUiToken } from '../services/connection';
import {
  checkHealth,
  defaultEmbeddedOptions,
  runningEmbedded,
  awaitReady,
  startEmbedded,
  stopEmbedded,
} from '../services/embedded';
import { type BackendState, readToolboxStatus } from '../services/state';
import { exposureWarning } from '../services/temporalIsolation';
import { ObjectStore } from '../storage/objectStore';
import { formatBytes } from '../storage/pack';
import { isTerminal, RunService } from '../temporal/runs';
import { discoverWorkflows, formatProblem } from '../toolbox/discovery';
import { parseParamArgs } from '../toolbox/params';
import { installTools, toolStatuses } from '../toolbox/tools';
import { availableVerticals, knownVerticals } from '../toolbox/verticals';
import { workspaceIdentity } from '../workspace';
import {
  fuzzingAvailability,
  fuzzStats,
  getCrash,
  listCrashes,
  replayCrash,
  ReplayCancelledError,
  REPLAY_TIMEOUT_MS,
  saveCrashes,
} from '../fuzzing';
import type { FuzzStatsSample } from '../../toolbox/shared/fuzzing';
import type { ScanSummary } from '../../toolbox/shared/definitions';
import { escapeControl, escapeInline, findingsTable, formatDuration, table, toolboxStatusLines } from './format';
import { cmdLogs, cmdWorkers, composeStatus, downCompose, upCompose } from './services';
import { cmdSetupExternal, cmdStatusExternal } from './external';

const USAGE = `fuzzforge ${version}: scan and fuzz code on a Temporal + MinIO backend

usage:
  fuzzforge up [--temporal-port N] [--temporal-ui-port N] [--minio-port N] [--minio-console-port N]
  fuzzforge up --compose [--vertical V]... [--no-build]   the compose stack (Docker) instead of embedded
  fuzzforge down [--volumes]                      stop the running backend (--volumes: compose data too)
  fuzzforge status [--json]
  fuzzforge logs SERVICE [--follow] [--tail N]    temporal, minio, worker-<vertical>, ... of either mode
  fuzzforge workers [--json]                      compose: each vertical's containers and pollers
  fuzzforge workers scale VERTICAL=N...           compose: run N workers of a vertical
  fuzzforge workers start|stop VERTICAL           compose: start or stop a vertical's workers
  fuzzforge setup [--tools [--vertical V]...]   build/locate Temporal and MinIO; --tools installs analysis tools
  fuzzforge setup --external                      register the search attributes and create the buckets
                                                  on the external backend (FUZZFORGE_TEMPORAL_*, FUZZFORGE_S3_*)
  fuzzforge workflows [NAME] [--json]
  fuzzforge scan PATH --workflow NAME [--param KEY=VALUE]... [--exclude GLOB]...
                 [--no-wait] [--fail-on error|warning|note|none] [--fail-on-new] [--export-sarif FILE]
                 [--baseline RUN_ID | --no-baseline] [--new-only] [--json] [--max-upload-size BYTES]
  fuzzforge runs [--workspace PATH | --all] [--limit N] [--json]
  fuzzforge run status RUN_ID [--json]
  fuzzforge run cancel RUN_ID
  fuzzforge run findings RUN_ID [--new-only] [--fail-on LEVEL] [--fail-on-new] [--export-sarif FILE] [--json]
  fuzzforge stats RUN_ID [--follow] [--json]      live statistics of a fuzzing run
  fuzzforge crashes RUN_ID [--json] [--save DIR]  unique crashes of a fuzzing run (--save: inputs + stacks)
  fuzzforge replay RUN_ID CRASH_ID [--workspace PATH] [--original] [--timeout SECONDS]
                                                  build the harness locally and run it on the crash input

global options:
  --backend auto|embedded|compose|external   (default: FUZZFORGE_BACKEND_MODE or auto)
  -h, --help, --version

exit codes: 0 success, 1 findings at or above --fail-on, 2 usage or infrastructure error`;

const FAIL_ON = ['error', 'warning', 'note', 'none'] as const;

/** What a command prints to: stdout for results, stderr for progress and notices. */
interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const defaultIo: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

type ParsedValues = Record<string, string | boolean | string[] | undefined>;

function parse(args: string[], options: ParseArgsConfig['options']): { values: ParsedValues; positionals: string[] } {
  try {
    const parsed = parseArgs({
      args,
      options: { ...options, backend: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    return { values: parsed.values, positionals: parsed.positionals };
  } catch (err) {
    throw new UserError((err as Error).message, 'see `fuzzforge --help`');
  }
}

function parseFailOn(value: string | undefined): FailOn {
  const v = (value ?? 'none') as FailOn;
  if (!FAIL_ON.includes(v)) {
    throw new UserError(`--fail-on ${value} is not a level`, `use one of ${FAIL_ON.join(', ')}`);
  }
  return v;
}

function parsePort(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) {
    return fallback;
  }
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new UserError(`--${flag} ${value} is not a port`, 'use 0..65535 (0 = any free port)');
  }
  return n;
}

async function withRuns<T>(conn: BackendConnection, fn: (runs: RunService) => Promise<T>): Promise<T> {
  const runs = await RunService.connect(conn);
  try {
    return await fn(runs);
  } finally {
    await runs.close();
  }
}

function writeSarif(file: string, log: SarifLog, io: Io): void {
  const abs = path.resolve(file);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  fs.writeFileSync(abs, `${JSON.stringify(log, null, 2)}\n`);
  io.err(`SARIF written to ${abs}`);
}

/** Tool failures, ignore-file problems and baseline trouble: on stderr, never lost. */
function reportNotices(summary: ScanSummary, io: Io): void {
  for (const tool of summary.tools.filter((t) => t.error)) {
    const error = tool.error ?? '';
    io.err(`warning: ${error.startsWith(tool.name) ? error : `${tool.name}: ${error}`}`);
  }
  for (const notice of summary.notices ?? []) {
    io.err(`warning: ${notice}`);
  }
  if (summary.baseline?.error) {
    io.err(`warning: could not compare with baseline ${summary.baseline.runId}: ${summary.baseline.error}`);
  }
  const leftOut = describeLeftOut(summary.leftOut, (param) => `--param ${param}=true`);
  if (leftOut) {
    io.err(`note: ${leftOut}`);
  }
}

interface FindingsView {
  json: boolean;
  /** Show only results the baseline marks new. */
  newOnly: boolean;
}

function reportFindings(log: SarifLog, io: Io, view: FindingsView, extra: Record<string, unknown>): void {
  const all = findingRows(log);
  const fixed = all.filter((r) => r.baselineState === 'absent');
  const rows = all.filter(
    (r) =>
      r.baselineState !== 'absent' && (!view.newOnly || r.baselineState === 'new' || r.baselineState === undefined),
  );
  if (view.json) {
    io.out(JSON.stringify({ ...extra, findings: rows, fixed }, null, 2));
    return;
  }
  if (rows.length === 0) {
    io.out(view.newOnly ? 'no new findings' : 'no findings');
  } else {
    io.out(findingsTable(rows, process.stdout.columns ? Math.max(100, process.stdout.columns) : 200));
    const counts = { error: 0, warning: 0, note: 0, none: 0 };
    let suppressed = 0;
    for (const r of rows) {
      if (r.suppressed) {
        suppressed++;
      } else {
        counts[r.level]++;
      }
    }
    const states = all.some((r) => r.baselineState)
      ? `; ${all.filter((r) => r.baselineState === 'new').length} new, ${fixed.length} fixed since the baseline`
      : '';
    io.out(
      `\n${rows.length - suppressed} finding(s): ${counts.error} error, ${counts.warning} warning, ${counts.note} note` +
        `${suppressed ? ` (+${suppressed} suppressed)` : ''}${states}`,
    );
  }
}

async function cmdUp(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, {
    'temporal-port': { type: 'string' },
    'temporal-ui-port': { type: 'string' },
    'minio-port': { type: 'string' },
    'minio-console-port': { type: 'string' },
    json: { type: 'boolean' },
    compose: { type: 'boolean' },
    vertical: { type: 'string', multiple: true },
    'no-build': { type: 'boolean' },
  });
  if (
    values.compose ||
    parseBackendMode((values.backend as string | undefined) ?? process.env.FUZZFORGE_BACKEND_MODE) === 'compose'
  ) {
    return upCompose(values, io);
  }
  const options = defaultEmbeddedOptions(stateDir());
  options.ports = {
    temporal: parsePort('temporal-port', values['temporal-port'] as string | undefined, options.ports.temporal),
    temporalUi: parsePort(
      'temporal-ui-port',
      values['temporal-ui-port'] as string | undefined,
      options.ports.temporalUi,
    ),
    minio: parsePort('minio-port', values['minio-port'] as string | undefined, options.ports.minio),
    minioConsole: parsePort(
      'minio-console-port',
      values['minio-console-port'] as string | undefined,
      options.ports.minioConsole,
    ),
  };
  const started = Date.now();
  const { state, attached } = await startEmbedded(options, (line) => io.err(line));
  if (values.json) {
    io.out(JSON.stringify({ attached, ...state }, null, 2));
    return 0;
  }
  io.out(
    attached ? 'embedded backend already running' : `embedded backend ready in ${formatDuration(Date.now() - started)}`,
  );
  io.out(`  Temporal     ${state.temporal.address}   UI ${withUiToken(state.temporal.uiUrl, state.temporal.uiToken)}`);
  io.out(`  MinIO        ${state.storage.endpoint}   console ${state.storage.consoleUrl}`);
  io.out(`  workers      ${state.workers.map((w) => w.vertical).join(', ') || '(none)'}`);
  io.out(`  state        ${state.stateDir} (logs in ${state.logsDir})`);
  temporalAccessWarning(state, io);
  return 0;
}

/** Says loudly when the embedded Temporal is open to every local account (on stderr: scripts read stdout). */
function temporalAccessWarning(state: BackendState, io: Io): void {
  if (state.temporal.isolation === 'namespace') {
    return;
  }
  io.err(
    `WARNING: ${exposureWarning(state.temporal.exposure ?? 'started by a version without isolation; restart it')}`,
  );
}

async function cmdDown(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, { volumes: { type: 'boolean' }, compose: { type: 'boolean' } });
  const composeStopped = await downCompose(Boolean(values.volumes), io);
  if (values.compose) {
    if (!composeStopped) {
      io.out('the compose backend was not running');
    }
    return 0;
  }
  const stopped = await stopEmbedded(stateDir());
  if (stopped || !composeStopped) {
    io.out(stopped ? 'embedded backend stopped' : 'the embedded backend was not running');
  }
  return 0;
}

async function cmdStatus(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, { json: { type: 'boolean' } });
  const mode = parseBackendMode((values.backend as string | undefined) ?? process.env.FUZZFORGE_BACKEND_MODE);
  if (mode === 'external' || (mode === 'auto' && connectionFromEnv(process.env))) {
    const conn = await resolveBackend({ mode: 'external' });
    return cmdStatusExternal(conn, availableVerticals(toolboxDir()), io, Boolean(values.json));
  }
  const state = runningEmbedded(stateDir());
  const verticals = availableVerticals(toolboxDir());
  const multitool = checkSarifMultitool();
  const binaries: { name: string; path?: string; problem?: string }[] = [
    ...(Object.keys(SERVICE_BINARIES) as (keyof typeof SERVICE_BINARIES)[]).map((name) => ({
      name,
      path: findServiceBinary(name)?.path,
    })),
    // Baseline matching (new vs existing results) on the workers of this installation.
    { name: 'sarif-multitool', ...multitool },
  ];
  const health = state ? await checkHealth(state) : undefined;
  let pollers: Record<string, number> = {};
  const compose = runningCompose(stateDir());
  if ((state && health?.temporal) || compose) {
    const conn = await resolveBackend({ mode: state ? 'embedded' : 'compose' });
    pollers = await withRuns(conn, async (runs) =>
      Object.fromEntries(
        await Promise.all(verticals.map(async (v) => [v.vertical, await runs.pollers(v.vertical)] as const)),
      ),
    ).catch(() => ({}));
  }
  const composeReport = await composeStatus(io, Boolean(values.json));
  if (values.json) {
    io.out(
      JSON.stringify(
        {
          running: Boolean(state),
          state,
          health,
          toolbox: state ? readToolboxStatus(state.stateDir) : undefined,
          compose: composeReport,
          verticals: verticals.map((v) => ({ ...v, pollers: pollers[v.vertical] ?? 0 })),
          tools: toolStatuses(knownVerticals()),
          fuzzing: fuzzingAvailability(verticals, toolStatuses(knownVerticals())),
          binaries,
        },
        null,
        2,
      ),
    );
    return 0;
  }
  if (!state && composeReport) {
    // The compose stack was reported above.
  } else if (!state) {
    io.out('embedded backend: not running (start it with `fuzzforge up`)');
  } else {
    io.out(`embedded backend: ${state.status} since ${state.startedAt} (state in ${state.stateDir})`);
    io.out(
      table(
        ['SERVICE', 'HEALTH', 'ADDRESS', 'UI'],
        [
          [
            'temporal',
            health?.temporal ? 'healthy' : 'DOWN',
            state.temporal.address,
            withUiToken(state.temporal.uiUrl, state.temporal.uiToken),
          ],
          ['minio', health?.storage ? 'healthy' : 'DOWN', state.storage.endpoint, state.storage.consoleUrl],
        ],
      ),
    );
    for (const line of toolboxStatusLines(readToolboxStatus(state.stateDir))) {
      io.out(line);
    }
    temporalAccessWarning(state, io);
  }
  io.out('');
  io.out(
    table(
      ['VERTICAL', 'AVAILABLE', 'WORKERS', 'WORKFLOWS', 'NOTE'],
      verticals.map((v) => [
        v.vertical,
        v.available ? 'yes' : 'no',
        String(pollers[v.vertical] ?? 0),
        v.workflows.join(', '),
        v.reason ?? '',
      ]),
    ),
  );
  const tools = toolStatuses(knownVerticals());
  if (tools.length > 0) {
    io.out('');
    io.out(
      table(
        ['VERTICAL', 'TOOL', 'STATUS'],
        tools.map((t) => [t.vertical, t.tool, t.path ?? t.reason ?? 'missing']),
      ),
    );
  }
  io.out('');
  io.out(
    table(
      ['FUZZER', 'WORKFLOW', 'VERTICAL', 'AVAILABLE', 'WHY NOT'],
      fuzzingAvailability(verticals, tools).map((f) => [
        f.engine,
        f.workflow,
        f.vertical,
        f.available ? 'yes' : 'no',
        f.reason ?? '',
      ]),
    ),
  );
  io.out('');
  io.out(
    table(
      ['BINARY', 'PATH'],
      binaries.map((b) => [b.name, b.path ?? b.problem ?? 'missing (run `fuzzforge setup`)']),
    ),
  );
  return 0;
}

async function cmdSetup(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, {
    tools: { type: 'boolean' },
    vertical: { type: 'string', multiple: true },
    external: { type: 'boolean' },
  });
  if (values.external) {
    return cmdSetupExternal(io);
  }
  for (const name of Object.keys(SERVICE_BINARIES) as (keyof typeof SERVICE_BINARIES)[]) {
    const found = await ensureServiceBinary(name, (line) => io.err(line));
    io.out(`${name}: ${found.path} (${found.source})`);
  }
  if (values.tools) {
    const verticals = (values.vertical as string[] | undefined) ?? knownVerticals();
    const missing = await installTools(verticals, (line) => io.err(line));
    for (const t of toolStatuses(verticals)) {
      io.out(`${t.vertical}/${t.tool}: ${t.path ?? `MISSING (${t.reason ?? ''})`}`);
    }
    if (missing.length > 0) {
      io.err(`${missing.length} tool(s) could not be installed; their workflows report them as notifications`);
    }
  }
  prebuildWorkflowBundle(io);
  return 0;
}

/**
 * Cache the workflow bundle the embedded worker host will ask for (every vertical whose tools are
 * here), so the first `up` after an install reuses it. Failing costs only that first start's
 * seconds: said, not fatal.
 */
function prebuildWorkflowBundle(io: Io): void {
  const verticals = availableVerticals(toolboxDir())
    .filter((v) => v.available)
    .map((v) => v.vertical);
  const worker = distEntry('worker');
  if (verticals.length === 0 || !fs.existsSync(worker)) {
    return;
  }
  const run = spawnSync(process.execPath, [worker, '--prebuild', '--vertical', verticals.join(',')], {
    encoding: 'utf8',
    env: process.env,
  });
  const lines = `${run.stdout ?? ''}${run.stderr ?? ''}`.trim().split('\n').filter(Boolean);
  if (run.status === 0) {
    io.out(lines.at(-1)?.replace(/^\S+ /, '') ?? 'workflow bundle ready');
  } else {
    io.err(
      `could not prebuild the workflow bundle (the first \`fuzzforge up\` builds it instead): ${lines.slice(-3).join(' ') || run.error?.message || `exit ${run.status}`}`,
    );
  }
}

function cmdWorkflows(args: string[], io: Io): Promise<number> {
  return Promise.resolve(listWorkflows(args, io));
}

function listWorkflows(args: string[], io: Io): number {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } });
  const scan = discoverWorkflows(toolboxDir());
  const availability = new Map(availableVerticals(toolboxDir()).map((v) => [v.vertical, v]));
  const name = positionals[0];
  if (name) {
    const wf = findWorkflow(toolboxDir(), name);
    if (values.json) {
      io.out(JSON.stringify(wf, null, 2));
      return 0;
    }
    io.out(
      `${wf.name} ${wf.version} (vertical ${wf.vertical}, outputs ${wf.outputs.join(', ')}, timeout ${formatDuration(wf.defaultTimeoutSeconds * 1000)})`,
    );
    io.out(wf.description);
    io.out('\nparameters:');
    const rows = Object.entries(wf.parameters.properties).map(([key, schema]) => [
      key,
      typeof schema.type === 'string' ? schema.type : Array.isArray(schema.enum) ? 'enum' : '',
      JSON.stringify(schema.default ?? null),
      typeof schema.description === 'string' ? schema.description : '',
    ]);
    io.out(rows.length > 0 ? table(['NAME', 'TYPE', 'DEFAULT', 'DESCRIPTION'], rows) : '  (none)');
    return 0;
  }
  if (values.json) {
    io.out(JSON.stringify(scan, null, 2));
    return 0;
  }
  io.out(
    table(
      ['WORKFLOW', 'VERSION', 'VERTICAL', 'AVAILABLE', 'DESCRIPTION'],
      scan.workflows.map((w) => {
        const v = availability.get(w.vertical);
        return [
          w.name,
          w.version,
          w.vertical,
          v?.available ? 'yes' : `no: ${v?.reason ?? 'unknown vertical'}`,
          w.description.split('. ')[0] ?? '',
        ];
      }),
    ),
  );
  for (const p of scan.problems) {
    io.err(`skipped: ${formatProblem(p)}`);
  }
  return 0;
}

async function cmdScan(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    workflow: { type: 'string', short: 'w' },
    param: { type: 'string', short: 'p', multiple: true },
    exclude: { type: 'string', multiple: true },
    'no-wait': { type: 'boolean' },
    baseline: { type: 'string' },
    'no-baseline': { type: 'boolean' },
    'new-only': { type: 'boolean' },
    'fail-on-new': { type: 'boolean' },
    'fail-on': { type: 'string' },
    'export-sarif': { type: 'string' },
    'max-upload-size': { type: 'string' },
    json: { type: 'boolean' },
  });
  const target = positionals[0];
  if (!target || positionals.length > 1) {
    throw new UserError('scan takes exactly one PATH', 'fuzzforge scan PATH --workflow NAME');
  }
  if (!values.workflow) {
    throw new UserError('--workflow is required', 'list workflows with `fuzzforge workflows`');
  }
  const failOn = parseFailOn(values['fail-on'] as string | undefined);
  const maxUpload = values['max-upload-size'] === undefined ? undefined : Number(values['max-upload-size']);
  if (maxUpload !== undefined && (!Number.isInteger(maxUpload) || maxUpload <= 0)) {
    throw new UserError(`--max-upload-size ${String(values['max-upload-size'])} is not a positive number of bytes`);
  }
  // Parameters are validated before anything starts or uploads.
  const workflow = findWorkflow(toolboxDir(), values.workflow as string);
  const params = parseParamArgs(workflow, (values.param as string[] | undefined) ?? []);
  const mode = parseBackendMode((values.backend as string | undefined) ?? process.env.FUZZFORGE_BACKEND_MODE);
  const conn = await resolveBackend({ mode, autoStart: true, onProgress: (l) => io.err(l) });
  return withRuns(conn, async (runs) => {
    const started = Date.now();
    let lastPhase = '';
    const { run, upload, baseline } = await startScan(conn, runs, {
      path: target,
      workflow,
      params,
      excludes: (values.exclude as string[] | undefined) ?? [],
      maxUploadBytes: maxUpload,
      baseline: values['no-baseline'] ? false : (values.baseline as string | undefined),
      onNotice: (line) => io.err(line),
      onUploadProgress: (p) => {
        const key = `${p.phase}`;
        if (p.phase === 'uploading' && p.totalFiles && (p.files === p.totalFiles || p.files % 200 === 0)) {
          io.err(
            `  uploading ${p.files}/${p.totalFiles} files (${formatBytes(p.bytes)}/${formatBytes(p.totalBytes ?? 0)})`,
          );
        } else if (key !== lastPhase && p.phase !== 'done') {
          io.err(`  ${p.phase}...`);
        }
        lastPhase = key;
      },
    });
    io.err(
      `uploaded ${upload.uploadedObjects} object(s), ${formatBytes(upload.uploadedBytes)} ` +
        `(workspace: ${upload.totalFiles} files, ${formatBytes(upload.totalBytes)}); run ${run.runId} started` +
        (baseline ? ` (baseline ${baseline.runId})` : ''),
    );
    for (const s of upload.skipped.slice(0, 5)) {
      io.err(`  not uploaded: ${escapeInline(s.path)} (${escapeInline(s.reason)})`);
    }
    for (const w of upload.warnings) {
      io.err(`  warning: ${escapeInline(w)}`);
    }
    if (values['no-wait']) {
      io.out(values.json ? JSON.stringify({ runId: run.runId, status: 'running' }) : run.runId);
      return 0;
    }
    const { summary, sarif } = await awaitScan(conn, runs, run.runId, (p) =>
      io.err(`  ${p.phase}${p.detail ? `: ${p.detail}` : ''}`),
    );
    io.err(`run ${run.runId} completed in ${formatDuration(Date.now() - started)}`);
    reportNotices(summary, io);
    if (values['export-sarif']) {
      writeSarif(values['export-sarif'] as string, sarif, io);
    }
    reportFindings(
      sarif,
      io,
      { json: Boolean(values.json), newOnly: Boolean(values['new-only']) },
      {
        runId: run.runId,
        summary,
        upload: { ...upload, skipped: upload.skipped.length },
      },
    );
    return failOnExitCode(sarif, failOn, { onlyNew: Boolean(values['fail-on-new']) });
  });
}

async function cmdRuns(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, {
    workspace: { type: 'string' },
    all: { type: 'boolean' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
  });
  const conn = await resolveBackend({
    mode: parseBackendMode((values.backend as string | undefined) ?? process.env.FUZZFORGE_BACKEND_MODE),
  });
  const workspaceId = values.all
    ? undefined
    : values.workspace
      ? workspaceIdentity(values.workspace as string).id
      : undefined;
  const list = await withRuns(conn, (runs) =>
    runs.list({ workspaceId, limit: values.limit ? Number(values.limit) : 20 }),
  );
  if (values.json) {
    io.out(JSON.stringify(list, null, 2));
    return 0;
  }
  if (list.length === 0) {
    io.out('no runs');
    return 0;
  }
  io.out(
    table(
      ['RUN', 'STATUS', 'WORKFLOW', 'WORKSPACE', 'STARTED', 'DURATION'],
      list.map((r) => [
        r.runId,
        r.status,
        r.workflow,
        r.memo?.workspaceName ?? '-',
        r.startTime?.toISOString().replace('T', ' ').slice(0, 19) ?? '-',
        r.startTime && r.closeTime ? formatDuration(r.closeTime.getTime() - r.startTime.getTime()) : '-',
      ]),
    ),
  );
  return 0;
}

async function cmdRun(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    json: { type: 'boolean' },
    'fail-on': { type: 'string' },
    'export-sarif': { type: 'string' },
    'new-only': { type: 'boolean' },
    'fail-on-new': { type: 'boolean' },
  });
  const [verb, runId] = positionals;
  if (!verb || !runId || !['status', 'cancel', 'findings'].includes(verb)) {
    throw new UserError('usage: fuzzforge run status|cancel|findings RUN_ID');
  }
  const failOn = parseFailOn(values['fail-on'] as string | undefined);
  const conn = await resolveBackend({
    mode: parseBackendMode((values.backend as string | undefined) ?? process.env.FUZZFORGE_BACKEND_MODE),
  });
  return withRuns(conn, async (runs) => {
    if (verb === 'cancel') {
      const how = await runs.cancel(runId);
      io.out(
        how === 'requested'
          ? `cancellation requested for ${runId}`
          : `${runId} terminated: no worker could act on a cancellation (see \`fuzzforge status\`)`,
      );
      return 0;
    }
    if (verb === 'status') {
      const info = await runs.describe(runId);
      const progress = isTerminal(info.status) ? undefined : await runs.progress(runId);
      if (values.json) {
        io.out(JSON.stringify({ ...info, progress }, null, 2));
        return 0;
      }
      io.out(`${info.runId}: ${info.status}`);
      io.out(`  workflow   ${info.workflow} on ${info.taskQueue}`);
      io.out(`  workspace  ${info.memo?.workspaceRoot ?? '-'}`);
      io.out(
        `  started    ${info.startTime?.toISOString() ?? '-'}${info.closeTime ? `, closed ${info.closeTime.toISOString()}` : ''}`,
      );
      if (progress) {
        io.out(
          `  progress   ${progress.phase}${progress.fraction !== undefined ? ` (${Math.round(progress.fraction * 100)}%)` : ''}`,
        );
      }
      for (const a of info.pendingActivities) {
        io.out(`  activity   ${a.type} attempt ${a.attempt}${a.lastFailure ? `, last failure: ${a.lastFailure}` : ''}`);
      }
      return 0;
    }
    const info = await runs.describe(runId);
    if (info.status === 'running') {
      throw new UserError(
        `run ${runId} is still running`,
        `wait for it, or watch it with \`fuzzforge run status ${runId}\``,
      );
    }
    const summary = await runs.result(runId);
    const sarif = await fetchSarif(conn, summary);
    if (values['export-sarif']) {
      writeSarif(values['export-sarif'] as string, sarif, io);
    }
    reportNotices(summary, io);
    reportFindings(sarif, io, { json: Boolean(values.json), newOnly: Boolean(values['new-only']) }, { runId, summary });
    return failOnExitCode(sarif, failOn, { onlyNew: Boolean(values['fail-on-new']) });
  });
}

function statsLine(s: FuzzStatsSample): string[] {
  return [
    s.shards ? `${s.harness} (${s.shards} processes)` : s.harness,
    formatDuration(s.elapsedSec * 1000),
    `${s.execsEstimated ? '~' : ''}${s.execs}`,
    String(s.execsPerSec),
    s.coverage !== undefined ? `${s.coverage}/${s.features ?? '-'}` : '-',
    String(s.corpusSize),
    `${s.uniqueCrashes} (${s.crashes})`,
    `${s.timeouts}/${s.ooms}`,
    `${Math.round(s.secSinceNewCoverage)}s`,
  ];
}

const STATS_HEADERS = [
  'HARNESS',
  'ELAPSED',
  'EXECS',
  'EXEC/S',
  'COV/FT',
  'CORPUS',
  'UNIQUE (ALL) CRASHES',
  'TIMEOUTS/OOMS',
  'SINCE NEW COV',
];

async function cmdStats(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { follow: { type: 'boolean', short: 'f' }, json: { type: 'boolean' } });
  const runId = positionals[0];
  if (!runId) {
    throw new UserError('usage: fuzzforge stats RUN_ID [--follow] [--json]');
  }
  const conn = await resolveBackend({
    mode: parseBackendMode((values.backend as string | undefined) ?? process.env.FUZZFORGE_BACKEND_MODE),
  });
  return withRuns(conn, async (runs) => {
    let lastAt = 0;
    for (;;) {
      const info = await runs.describe(runId);
      const view = await fuzzStats(runs, runId);
      if (values.json) {
        if (!values.follow || (view.latest && view.latest.at !== lastAt) || isTerminal(info.status)) {
          io.out(
            JSON.stringify(
              values.follow
                ? { status: info.status, phase: view.phase, latest: view.latest }
                : { status: info.status, ...view },
            ),
          );
        }
      } else if (!values.follow) {
        io.out(`${runId}: ${info.status}, ${view.engine}, ${view.phase}${view.current ? ` (${view.current})` : ''}`);
        const rows = [
          ...view.finished,
          ...(view.latest && !view.finished.some((f) => f.harness === view.latest?.harness) ? [view.latest] : []),
        ];
        io.out(rows.length > 0 ? table(STATS_HEADERS, rows.map(statsLine)) : 'no statistics yet');
      } else if (view.latest && view.latest.at !== lastAt) {
        const s = view.latest;
        io.out(
          `${new Date(s.at).toISOString().slice(11, 19)} ${s.harness}${s.shards ? ` x${s.shards}` : ''} ${formatDuration(s.elapsedSec * 1000)} ` +
            `execs ${s.execsEstimated ? '~' : ''}${s.execs} (${s.execsPerSec}/s) cov ${s.coverage ?? '-'} ft ${s.features ?? '-'} corpus ${s.corpusSize} ` +
            `crashes ${s.uniqueCrashes} unique/${s.crashes} timeouts ${s.timeouts} ooms ${s.ooms} since-new-cov ${Math.round(s.secSinceNewCoverage)}s`,
        );
      }
      lastAt = view.latest?.at ?? lastAt;
      if (!values.follow || isTerminal(info.status)) {
        if (values.follow && !values.json) {
          io.out(`run ${runId} ${info.status}`);
        }
        return 0;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  });
}

async function cmdCrashes(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' }, save: { type: 'string' } });
  const runId = positionals[0];
  if (!runId) {
    throw new UserError('usage: fuzzforge crashes RUN_ID [--json] [--save DIR]');
  }
  const conn = await resolveBackend({
    mode: parseBackendMode((values.backend as string | undefined) ?? process.env.FUZZFORGE_BACKEND_MODE),
  });
  const crashes = await listCrashes(conn, runId);
  if (values.save) {
    const saved = await saveCrashes(conn, crashes, values.save as string);
    for (const file of saved) {
      io.err(`  saved ${file}`);
    }
  }
  if (values.json) {
    io.out(JSON.stringify(crashes, null, 2));
    return 0;
  }
  if (crashes.length === 0) {
    io.out(`no crashes stored for run ${runId}`);
    return 0;
  }
  io.out(
    table(
      ['CRASH', 'KIND', 'HARNESS', 'LOCATION', 'HITS', 'INPUT', 'FIRST SEEN'],
      crashes.map((c) => {
        const top = c.frames.find((f) => f.file && !f.file.startsWith('/'));
        return [
          c.id,
          c.kind,
          c.harness,
          top ? `${top.file}:${top.line ?? '?'}` : c.harnessFile,
          String(c.hits),
          `${c.inputBytes} B${c.minimizedKey ? ` (min ${c.minimizedBytes ?? '?'} B)` : ''}`,
          c.firstSeen.replace('T', ' ').slice(0, 19),
        ];
      }),
    ),
  );
  for (const c of crashes) {
    io.out(`${c.id}: ${c.summary}\n  reproduce (input saved by --save as crash-${c.id}): ${c.reproduce}`);
  }
  io.out(`replay one with: fuzzforge replay ${runId} CRASH`);
  return 0;
}

async function cmdReplay(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    workspace: { type: 'string' },
    original: { type: 'boolean' },
    timeout: { type: 'string' },
  });
  const [runId, crashId] = positionals;
  if (!runId || !crashId) {
    throw new UserError('usage: fuzzforge replay RUN_ID CRASH_ID [--workspace PATH] [--original] [--timeout SECONDS]');
  }
  const timeoutRaw = values.timeout as string | undefined;
  const timeoutSeconds = timeoutRaw === undefined ? REPLAY_TIMEOUT_MS / 1000 : Number(timeoutRaw);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0 || timeoutSeconds > 86_400) {
    throw new UserError(`--timeout ${timeoutRaw} is not a number of seconds`, 'pass 1..86400');
  }
  const conn = await resolveBackend({
    mode: parseBackendMode((values.backend as string | undefined) ?? process.env.FUZZFORGE_BACKEND_MODE),
  });
  const crash = await getCrash(conn, runId, crashId);
  let workspace = values.workspace as string | undefined;
  if (!workspace) {
    const info = await withRuns(conn, (runs) => runs.describe(runId));
    workspace =
      info.memo?.workspaceRoot && fs.existsSync(info.memo.workspaceRoot) ? info.memo.workspaceRoot : process.cwd();
  }
  io.err(`crash ${crash.id}: ${crash.summary} (${crash.engine}, harness ${crash.harness}, hit ${crash.hits}x)`);
  // Ctrl-C ends the harness's process group and removes the workspace copy before exiting.
  const cancel = new AbortController();
  const onSignal = () => cancel.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let result;
  try {
    result = await replayCrash(conn, crash, {
      workspace,
      minimized: !values.original,
      onProgress: (line) => io.err(`  ${line}`),
      timeoutMs: timeoutSeconds * 1000,
      signal: cancel.signal,
    });
  } catch (err) {
    if (err instanceof ReplayCancelledError) {
      io.err('replay cancelled');
      return 130;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (result.timedOut) {
    io.out(result.output.trimEnd());
    io.err(`timed out: the harness ran the ${result.input} for ${timeoutSeconds} s without finishing (a hang?)`);
    return 124;
  }
  if (result.reproduced) {
    io.out(result.output.trimEnd());
    io.err(`reproduced: the harness failed with exit code ${result.exitCode} on the ${result.input}`);
    return 1;
  }
  io.err(`did not reproduce: the harness ran the ${result.input} without failing (the bug may be fixed)`);
  return 0;
}

/**
 * `fuzzforge __init-storage`: the compose stack's one-shot set-up (service minio-setup) of the two
 * private buckets and their expiry rules, from FUZZFORGE_S3_* and FUZZFORGE_*_RETENTION_DAYS.
 */
async function initStorage(io: Io): Promise<number> {
  try {
    const conn = connectionFromEnv(process.env);
    if (!conn) {
      throw new UserError(
        'no storage settings',
        'set FUZZFORGE_S3_ENDPOINT, FUZZFORGE_S3_ACCESS_KEY, FUZZFORGE_S3_SECRET_KEY and FUZZFORGE_TEMPORAL_ADDRESS',
      );
    }
    const { retention } = defaultEmbeddedOptions(stateDir());
    await new ObjectStore(conn).ensureBuckets(retention);
    io.out(
      `buckets ready on ${conn.storage.endpoint}: ${conn.buckets.targets} (expire after ${retention.targetsDays} d), ` +
        `${conn.buckets.results} (runs/ expire after ${retention.resultsDays} d); 0 = never`,
    );
    return 0;
  } catch (err) {
    io.err(`fuzzforge __init-storage: ${describeError(err)}`);
    return 1;
  }
}

const COMMANDS: Record<string, (args: string[], io: Io) => Promise<number>> = {
  stats: cmdStats,
  crashes: cmdCrashes,
  replay: cmdReplay,
  up: cmdUp,
  down: cmdDown,
  status: cmdStatus,
  setup: cmdSetup,
  workflows: cmdWorkflows,
  logs: async (args, io) => {
    const { values, positionals } = parse(args, { follow: { type: 'boolean', short: 'f' }, tail: { type: 'string' } });
    return cmdLogs(values, positionals, io);
  },
  workers: async (args, io) => {
    const { values, positionals } = parse(args, { json: { type: 'boolean' } });
    return cmdWorkers(values, positionals, io);
  },
  scan: cmdScan,
  runs: cmdRuns,
  run: cmdRun,
};

/** Run one CLI invocation; returns the exit code. */
export async function runCli(argv: string[], rawIo: Io = defaultIo): Promise<number> {
  // Everything printed may hold file names, rule ids and tool output: no control characters reach
  // the terminal raw.
  const io: Io = { out: (text) => rawIo.out(escapeControl(text)), err: (text) => rawIo.err(escapeControl(text)) };
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    io.out(USAGE);
    return command ? 0 : 2;
  }
  if (command === '--version') {
    io.out(version);
    return 0;
  }
  if (command === '__await-ready') {
    // The supervisor's start-up check (backend/services/supervisor.ts): exit 0 once ready.
    try {
      await awaitReady(rest[0] ?? stateDir());
      return 0;
    } catch (err) {
      io.err(describeError(err));
      return 1;
    }
  }
  if (command === '__init-storage') {
    return initStorage(io);
  }
  const handler = COMMANDS[command];
  if (!handler) {
    io.err(`fuzzforge: unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(USAGE);
    return 0;
  }
  try {
    return await handler(rest, io);
  } catch (err) {
    io.err(`fuzzforge ${command}: ${describeError(err)}`);
    if (!(err instanceof UserError) && process.env.FUZZFORGE_DEBUG) {
      io.err((err as Error).stack ?? '');
    }
    return 2;
  }
}

if (require.main === module) {
  // `fuzzforge runs | head`: a closed pipe ends the command quietly, as other CLIs do.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') {
        process.exit(0);
      }
      throw err;
    });
  }
  void runCli(process.argv.slice(2)).then((code) => {
    // The supervisor keeps running; every other command exits with its code.
    if (code >= 0) {
      process.exitCode = code;
      // gRPC and MinIO keep-alive sockets would otherwise hold the process a little longer.
      setTimeout(() => process.exit(code), 50).unref();
    }
  });
}
