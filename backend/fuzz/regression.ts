// Keeping a crash as a regression input: the folder of the workspace its harness's seed corpus
// uses, so the next campaign (and, for Go, every `go test`) runs it first. Shared by the editor
// and any front end; no Temporal, no storage.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CRASH_ID_PATTERN, type CrashRecord } from '../../toolbox/shared/fuzzing';
import { UserError } from '../errors';
import { goFuncName } from './harnesses';

/**
 * The workspace-relative (posix) folder a crash's input is kept in as a regression input: the
 * run's `seed_corpus` parameter when it had one, else the engine's own convention (Go's
 * testdata/fuzz/<FuzzX>, cargo-fuzz's fuzz/corpus/<target>, and the same corpus/<harness>
 * layout beside atheris and libFuzzer harnesses). Throws when the parameter leaves the workspace.
 */
export function regressionFolder(
  crash: Pick<CrashRecord, 'engine' | 'harness' | 'harnessFile'>,
  seedCorpus?: unknown,
): string {
  if (typeof seedCorpus === 'string' && seedCorpus.trim() !== '') {
    return workspaceRelative(seedCorpus, "the run's seed_corpus parameter");
  }
  const harnessFile = workspaceRelative(crash.harnessFile, "the crash's harness file");
  const dir = path.posix.dirname(harnessFile);
  const join = (...parts: string[]) => path.posix.join(dir, ...parts);
  switch (crash.engine) {
    case 'go-fuzz':
      return join('testdata', 'fuzz', safeName(goFuncName({ name: crash.harness, file: harnessFile, dir })));
    case 'cargo-fuzz':
      // fuzz/fuzz_targets/<name>.rs -> fuzz/corpus/<name>, where `cargo fuzz run` looks.
      return path.posix.join(path.posix.dirname(dir), 'corpus', safeName(crash.harness));
    default:
      return join('corpus', safeName(crash.harness));
  }
}

/** The file name of a kept crash input: libFuzzer's `crash-<id>` (the id is a hex signature). */
export function regressionFileName(crash: Pick<CrashRecord, 'id'>): string {
  if (!CRASH_ID_PATTERN.test(crash.id)) {
    throw new UserError(`crash id ${JSON.stringify(crash.id).slice(0, 80)} is not a crash signature`);
  }
  return `crash-${crash.id}`;
}

/**
 * Copy `input` into `folder` (relative to `workspaceRoot`, created when missing) as `name`.
 * Never overwrites: an existing file of that name is an error naming it. Returns the new file.
 */
export async function saveRegressionInput(
  workspaceRoot: string,
  folder: string,
  name: string,
  input: string,
): Promise<string> {
  const root = path.resolve(workspaceRoot);
  const dir = path.resolve(root, workspaceRelative(folder, 'the regression folder'));
  await fs.promises.mkdir(dir, { recursive: true });
  // A link inside the workspace could point the copy elsewhere: the real folder must stay inside.
  const realRoot = await fs.promises.realpath(root);
  const realDir = await fs.promises.realpath(dir);
  if (realDir !== realRoot && !realDir.startsWith(realRoot + path.sep)) {
    throw new UserError(`${folder} leads out of the workspace (${realDir})`, 'remove the link or pick another folder');
  }
  const file = path.join(realDir, path.basename(name));
  try {
    await fs.promises.copyFile(input, file, fs.constants.COPYFILE_EXCL);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new UserError(`${path.relative(realRoot, file)} already exists; it was left as it is`);
    }
    throw err;
  }
  return file;
}

/** A posix path inside the workspace (no absolute path, no `..`), normalised. */
function workspaceRelative(p: string, what: string): string {
  const norm = path.posix.normalize(p.replace(/\\/g, '/')).replace(/^\.\//, '').replace(/\/+$/, '');
  if (norm === '' || norm === '.' || path.posix.isAbsolute(norm) || norm === '..' || norm.startsWith('../')) {
    throw new UserError(`${what} ${JSON.stringify(p).slice(0, 200)} is not a folder inside the workspace`);
  }
  return norm;
}

/** A harness name as one path segment (names come from the run's records). */
function safeName(name: string): string {
  const base = name.split('/').pop() ?? '';
  if (!/^[\w.-]+$/.test(base) || base === '.' || base === '..') {
    throw new UserError(`harness name ${JSON.stringify(name).slice(0, 80)} cannot be a folder name`);
  }
  return base;
}
