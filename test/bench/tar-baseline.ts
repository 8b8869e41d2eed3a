// The upload benchmark's baseline, run as a process of its own by run.ts: `tar -cz` of a folder
// streamed into one object of the MinIO that FUZZFORGE_BENCH_STORE names (JSON: storage and
// buckets of a connection). Prints the milliseconds from starting tar to the object stored. A
// process of its own so that the stream's buffers (parts of up to 64 MiB) are not garbage left for
// the uploads measured after it in the benchmark's process: with the baseline in that process, a
// one-file edit measured after it took 75-90 ms against 45-60 ms after the cold upload alone.
import { spawn } from 'node:child_process';
import { ObjectStore } from '../../backend/storage/objectStore';

async function main(): Promise<void> {
  const root = process.argv[2];
  const spec = process.env.FUZZFORGE_BENCH_STORE;
  if (!root || !spec) {
    throw new Error('usage: FUZZFORGE_BENCH_STORE=<connection JSON> tar-baseline.ts <folder>');
  }
  const store = new ObjectStore(JSON.parse(spec) as ConstructorParameters<typeof ObjectStore>[0]);
  const start = process.hrtime.bigint();
  const child = spawn('tar', ['-cz', '-C', root, '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  await store.client.putObject(store.buckets.targets, `baseline/${Date.now()}.tar.gz`, child.stdout);
  const code = await closed;
  if (code !== 0) {
    throw new Error(`tar exited with ${code}`);
  }
  process.stdout.write(`${Number(process.hrtime.bigint() - start) / 1e6}\n`);
}

main().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exit(1);
});
