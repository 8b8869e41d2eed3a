// Where a run's artefacts live in the results bucket. Workers write these keys and the backend
// reads and checks them (a crash record whose keys differ is refused), so both take them from here.

/** Object key of a run's artefact in the results bucket. */
export function runKey(runId: string, name: string): string {
  return `runs/${runId}/${name}`;
}

/** The merged SARIF log of a run. */
export function runSarifKey(runId: string): string {
  return runKey(runId, 'results.sarif');
}

/** Prefix under which a run's unique crashes are stored, one folder per crash id. */
export function runCrashesPrefix(runId: string): string {
  return runKey(runId, 'crashes/');
}

/** The objects of one unique crash: its record, input, stack and (when minimised) smaller input. */
export interface CrashKeys {
  prefix: string;
  record: string;
  input: string;
  stack: string;
  minimized: string;
}

export function crashKeys(runId: string, crashId: string): CrashKeys {
  const prefix = `${runCrashesPrefix(runId)}${crashId}/`;
  return {
    prefix,
    record: `${prefix}crash.json`,
    input: `${prefix}input`,
    stack: `${prefix}stack.txt`,
    minimized: `${prefix}minimized`,
  };
}
