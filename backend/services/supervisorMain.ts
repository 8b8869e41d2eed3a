// Entry of dist/supervisor.js (`node dist/supervisor.js STATE_DIR`), started detached by
// startEmbedded: runs the embedded backend of STATE_DIR until SIGTERM.
import { stateDir } from '../paths';
import { runSupervisor } from './supervisor';

runSupervisor(process.argv[2] ?? stateDir()).catch((err: unknown) => {
  console.error(
    `${new Date().toISOString()} supervisor failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
  );
  process.exit(1);
});
