// `npm run bench:secrets [-- <fuzzforge_ai checkout>]`: how well our secret detector finds hidden
// secrets and stays quiet on decoys. Prints figures, asserts nothing (test/unit/secrets-bench.test.ts
// holds the corpus figures).
//   - Our corpus, test/fixtures/secrets-bench (Python, JS, TS, Go, Java, shell, YAML, JSON) with
//     its ground truth test/fixtures/secrets-bench.truth.json: one row per secret and per decoy
//     (file, line, category). Per category: recall (secrets whose line has a finding) and precision
//     (findings on secret lines among the findings on that category's lines); findings on lines the
//     truth does not list count against precision in the "unlisted" row.
//   - With a path to a checkout of FuzzingLabs/fuzzforge_ai: its test_projects/secret_detection_benchmark
//     scored as its validate_ground_truth.py does (a finding is a file and line; exact match with
//     backend/benchmarks/by_category/secret_detection/secret_detection_benchmark_GROUND_TRUTH.json).
//     AWS's documentation example key pair is left out (we deliberately do not report it). Four
//     of its rows name a line next to the one that holds the value; the second score moves such a
//     row to the one line of the file that holds its value as written, and says which it moved.
// Files are listed and read as the secret_detection workflow does (listTargetFiles, readText).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { detectSecrets } from '../../toolbox/modules/secrets/detector';
import { listTargetFiles, readText } from '../../toolbox/modules/targetFiles';

export interface TruthRow {
  file: string;
  line: number;
  category: string;
  secret: boolean;
}

export interface CategoryScore {
  category: string;
  secrets: number;
  found: number;
  decoys: number;
  /** Findings on decoy lines (and, for "unlisted", on lines the truth does not name). */
  falsePositives: number;
  recall: number;
  precision: number;
}

export const CORPUS = path.resolve(__dirname, '..', 'fixtures', 'secrets-bench');
export const CORPUS_TRUTH = path.resolve(__dirname, '..', 'fixtures', 'secrets-bench.truth.json');

/** Every file:line our detector reports under `root`, the way the workflow reads the files. */
export async function findingLines(root: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const file of await listTargetFiles(root)) {
    const text = await readText(file.abs);
    if (text === undefined) {
      continue;
    }
    for (const f of detectSecrets(text, file.rel)) {
      const key = `${file.rel}:${f.line}`;
      out.set(key, [...(out.get(key) ?? []), f.message]);
    }
  }
  return out;
}

function ratio(n: number, d: number): number {
  return d === 0 ? 1 : n / d;
}

/** Recall and precision per category of the corpus, plus "unlisted" and "all" rows. */
export async function scoreCorpus(root = CORPUS, truthFile = CORPUS_TRUTH): Promise<CategoryScore[]> {
  const truth = JSON.parse(fs.readFileSync(truthFile, 'utf8')) as TruthRow[];
  const found = await findingLines(root);
  const byKey = new Map(truth.map((t) => [`${t.file}:${t.line}`, t]));
  const categories = [...new Set(truth.map((t) => t.category))].sort();
  const rows = categories.map((category): CategoryScore => {
    const mine = truth.filter((t) => t.category === category);
    const secrets = mine.filter((t) => t.secret);
    const decoys = mine.filter((t) => !t.secret);
    const hits = secrets.filter((t) => found.has(`${t.file}:${t.line}`)).length;
    const falsePositives = decoys.filter((t) => found.has(`${t.file}:${t.line}`)).length;
    return {
      category,
      secrets: secrets.length,
      found: hits,
      decoys: decoys.length,
      falsePositives,
      recall: ratio(hits, secrets.length),
      precision: ratio(hits, hits + falsePositives),
    };
  });
  const unlisted = [...found.keys()].filter((k) => !byKey.has(k)).length;
  rows.push({
    category: 'unlisted',
    secrets: 0,
    found: 0,
    decoys: 0,
    falsePositives: unlisted,
    recall: 1,
    precision: unlisted === 0 ? 1 : 0,
  });
  const sum = (f: (r: CategoryScore) => number) => rows.reduce((n, r) => n + f(r), 0);
  const hits = sum((r) => r.found);
  const fps = sum((r) => r.falsePositives);
  rows.push({
    category: 'all',
    secrets: sum((r) => r.secrets),
    found: hits,
    decoys: sum((r) => r.decoys),
    falsePositives: fps,
    recall: ratio(hits, sum((r) => r.secrets)),
    precision: ratio(hits, hits + fps),
  });
  return rows;
}

const pct = (x: number) => `${(x * 100).toFixed(0)}%`.padStart(5);

function printCorpus(rows: readonly CategoryScore[]): void {
  console.log('Our corpus (test/fixtures/secrets-bench)');
  console.log(`${'category'.padEnd(20)} secrets found recall decoys  FP precision`);
  for (const r of rows) {
    console.log(
      `${r.category.padEnd(20)} ${String(r.secrets).padStart(7)} ${String(r.found).padStart(5)} ${pct(r.recall).padStart(6)} ${String(r.decoys).padStart(6)} ${String(r.falsePositives).padStart(3)} ${pct(r.precision).padStart(9)}`,
    );
  }
}

interface FuzzForgeSecret {
  id: number;
  file: string;
  line: number;
  type: string;
  value: string;
}

/** AWS's published documentation key pair: not a live credential, deliberately not reported. */
const AWS_DOCUMENTATION_EXAMPLES = new Set(['AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY']);

async function benchFuzzForge(checkout: string): Promise<void> {
  const project = path.join(checkout, 'test_projects', 'secret_detection_benchmark');
  const truthFile = path.join(
    checkout,
    'backend/benchmarks/by_category/secret_detection/secret_detection_benchmark_GROUND_TRUTH.json',
  );
  if (!fs.existsSync(project) || !fs.existsSync(truthFile)) {
    throw new Error(
      `${checkout} is not a fuzzforge_ai checkout: expected ${project} and ${truthFile}. ` +
        'Pass the folder that holds test_projects/ and backend/.',
    );
  }
  const data = JSON.parse(fs.readFileSync(truthFile, 'utf8')) as { secrets?: FuzzForgeSecret[] };
  const all = data.secrets ?? [];
  const excluded = all.filter((s) => AWS_DOCUMENTATION_EXAMPLES.has(s.value));
  const scored = all.filter((s) => !AWS_DOCUMENTATION_EXAMPLES.has(s.value));
  const started = process.hrtime.bigint();
  const found = await findingLines(project);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;

  // The line that holds the value as written, when the truth names another one and exactly one line does.
  const moved = new Map<number, number>();
  for (const s of scored) {
    const lines = fs.readFileSync(path.join(project, s.file), 'utf8').split(/\r?\n/);
    if (lines[s.line - 1]?.includes(s.value)) {
      continue;
    }
    const holding = lines.flatMap((l, i) => (l.includes(s.value) ? [i + 1] : []));
    if (holding.length === 1 && holding[0] !== undefined) {
      moved.set(s.id, holding[0]);
    }
  }
  const score = (lineOf: (s: FuzzForgeSecret) => number) => {
    const truth = new Set(scored.map((s) => `${s.file}:${lineOf(s)}`));
    const skip = new Set(excluded.map((s) => `${s.file}:${s.line}`));
    const reported = [...found.keys()].filter((k) => !skip.has(k));
    const tp = reported.filter((k) => truth.has(k));
    const fp = reported.filter((k) => !truth.has(k));
    const missed = scored.filter((s) => !found.has(`${s.file}:${lineOf(s)}`));
    return { tp, fp, missed };
  };
  const print = (title: string, r: ReturnType<typeof score>) => {
    console.log(
      `${title}: found ${r.tp.length} of ${scored.length}, ${r.fp.length} false positive(s), ` +
        `recall ${pct(r.tp.length / scored.length).trim()}, precision ${pct(ratio(r.tp.length, r.tp.length + r.fp.length)).trim()}`,
    );
    for (const k of r.fp) {
      console.log(`  false positive ${k}: ${(found.get(k) ?? []).join('; ')}`);
    }
    for (const s of r.missed) {
      console.log(`  missed #${s.id} ${s.file}:${s.line} (${s.type})`);
    }
  };
  console.log(`\nFuzzForge secret_detection_benchmark (${checkout})`);
  console.log(
    `${all.length} secrets in the ground truth; left out: ${excluded.map((s) => `#${s.id} ${s.file}:${s.line}`).join(', ')} ` +
      `(AWS documentation example); scan ${ms.toFixed(0)} ms`,
  );
  print('exact file and line, as published', score((s) => s.line));
  for (const [id, line] of moved) {
    const s = scored.find((x) => x.id === id);
    console.log(`  row #${id} names ${s?.file}:${s?.line}; its value is written on line ${line}`);
  }
  print('with those rows on the line that holds the value', score((s) => moved.get(s.id) ?? s.line));
}

async function main(): Promise<void> {
  printCorpus(await scoreCorpus());
  const checkout = process.argv[2];
  if (checkout) {
    await benchFuzzForge(path.resolve(checkout));
  } else {
    console.log('\n(pass a fuzzforge_ai checkout to score its secret_detection_benchmark too)');
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
