// One embedded backend for a whole test run: started once with every vertical the `shareable`
// files need, its state folder passed to the command in FUZZFORGE_TEST_SHARED_STATE, stopped (by
// pid) when the command ends, fails or is interrupted (Ctrl-C, SIGTERM).
//   node --import tsx test/integration/shared-backend.ts -- node --import tsx --test ... files
// Files that kill, reload or reconfigure services, or assert on what other runs also change, keep
// starting their own (see test/README.md).
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import { SHARED_STATE_ENV, startTestBackend } from './harness';

/** Every vertical a shareable file asks for. */
export const SHARED_VERTICALS = ['generic', 'python', 'node', 'go', 'cpp', 'rust'];

async function main(argv: string[]): Promise<number> {
  const dash = argv.indexOf('--');
  const [program, ...args] = dash >= 0 ? argv.slice(dash + 1) : [];
  if (program === undefined) {
    console.error('usage: node --import tsx test/integration/shared-backend.ts -- COMMAND [ARG...]');
    return 2;
  }
  // The command gets the environment this process was given, plus the shared backend's folder:
  // not the private folders startTestBackend sets for the shared backend itself.
  const env = { ...process.env };
  const started = Date.now();
  const backend = await startTestBackend({ verticals: SHARED_VERTICALS });
  console.log(
    `shared test backend (${SHARED_VERTICALS.join(', ')}) ready in ${Date.now() - started} ms: ${backend.stateDir}`,
  );
  try {
    const child = spawn(program, args, {
      stdio: 'inherit',
      env: { ...env, [SHARED_STATE_ENV]: backend.stateDir },
    });
    // On Ctrl-C (which the command gets too) or SIGTERM: the command is ended, then the backend is
    // stopped below as after a normal end (a second one while it stops changes nothing). These
    // replace startTestBackend's handlers, which would exit at once; its exit hook still stops the
    // supervisor by pid should this process fail.
    process.removeAllListeners('SIGINT');
    process.removeAllListeners('SIGTERM');
    const forward = () => child.kill('SIGTERM');
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    const code = await new Promise<number>((resolve) => {
      child.on('error', (err) => {
        console.error(`cannot run ${program}: ${err.message}`);
        resolve(127);
      });
      child.on('close', (status, signal) => resolve(status ?? 128 + (signal ? os.constants.signals[signal] : 0)));
    });
    return code;
  } finally {
    await backend.stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
