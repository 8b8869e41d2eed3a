// `npm run histories:record`: run every toolbox workflow once on a private test backend and write
// the scrubbed histories to test/fixtures/histories/, the ones test/unit/workflow-histories
// replays against the current workflow code. Refresh them when a workflow gains a behaviour worth
// keeping in the replay set, or after a deliberate break of old runs (say so in the commit).
// `npm run histories:record -- --add` writes only the cases not committed yet and keeps the others
// as they are (histories of older code, which today's must still replay).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { projectRoot } from '../../backend/paths';
import { startTestBackend } from '../integration/harness';
import { recordToolboxHistories, RECORDING_VERTICALS } from './cases';
import { HISTORIES_DIR, scrubHistory } from './histories';

async function main(): Promise<void> {
  const started = Date.now();
  const backend = await startTestBackend({ verticals: RECORDING_VERTICALS });
  try {
    const histories = await recordToolboxHistories(backend, (line) => console.log(`recording ${line}`));
    const replacements: Record<string, string> = {
      [fs.realpathSync(backend.root)]: '/tmp/fuzzforge-histories',
      [backend.root]: '/tmp/fuzzforge-histories',
      [projectRoot()]: '/fuzzforge',
      [os.homedir()]: '~',
      [os.hostname()]: 'recording-host',
    };
    const secrets = [backend.conn.storage.accessKey, backend.conn.storage.secretKey];
    const addOnly = process.argv.includes('--add');
    if (!addOnly) {
      fs.rmSync(HISTORIES_DIR, { recursive: true, force: true });
    }
    fs.mkdirSync(HISTORIES_DIR, { recursive: true });
    for (const h of histories) {
      const file = path.join(HISTORIES_DIR, `${h.name}.json`);
      if (addOnly && fs.existsSync(file)) {
        continue;
      }
      fs.writeFileSync(file, `${JSON.stringify(scrubHistory(h.history, replacements, secrets), null, 1)}\n`);
      console.log(`${path.relative(projectRoot(), file)}: ${h.history.events?.length ?? 0} events`);
    }
    console.log(`${histories.length} histories in ${Math.round((Date.now() - started) / 1000)} s`);
  } finally {
    await backend.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
