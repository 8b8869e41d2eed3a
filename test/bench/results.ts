// The last figures of each benchmark, kept in test/bench/results/<bench>.json (BENCH_RESULTS_DIR
// elsewhere) so `npm run bench` can print the expensive ones (fuzzing, the editor) beside the
// figures it measures itself, with the date they were measured on.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface BenchResult {
  /** ISO time the figures were measured at. */
  date: string;
  machine: string;
  figures: Record<string, number>;
}

function resultsDir(): string {
  return process.env.BENCH_RESULTS_DIR ?? path.join(__dirname, 'results');
}

export function machineLine(): string {
  return `${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}`;
}

/** Record a benchmark's figures (finite numbers only), replacing its previous ones. */
export function saveResult(bench: string, figures: Record<string, number>): string {
  const file = path.join(resultsDir(), `${bench}.json`);
  const kept = Object.fromEntries(Object.entries(figures).filter(([, v]) => Number.isFinite(v)));
  const result: BenchResult = { date: new Date().toISOString(), machine: machineLine(), figures: kept };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

/** A benchmark's last figures, or undefined when it never ran here (or its file is not one of ours). */
export function loadResult(bench: string): BenchResult | undefined {
  const file = path.join(resultsDir(), `${bench}.json`);
  let parsed: Partial<BenchResult> | null;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<BenchResult> | null;
  } catch {
    return undefined;
  }
  if (
    typeof parsed?.date !== 'string' ||
    typeof parsed.machine !== 'string' ||
    typeof parsed.figures !== 'object' ||
    parsed.figures === null ||
    !Object.values(parsed.figures).every((v) => typeof v === 'number' && Number.isFinite(v))
  ) {
    console.error(`${file} is not a benchmark result (date, machine, figures): ignored; run its benchmark again`);
    return undefined;
  }
  return parsed as BenchResult;
}
