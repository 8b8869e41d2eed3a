// Tools run detached in their own process group, so a cancel or timeout can end the tool and
// everything it started (compilers, fuzzer workers) at once.

/** Kill a process group we started (detached), ignoring one that is already gone. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (!pid) {
    return;
  }
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
