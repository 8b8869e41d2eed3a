// `npm run bench:signal [-- <folder of repositories>]`: how much of what full_scan reports on real,
// public repositories is signal. Prints figures, asserts nothing. The repositories, their commits
// and what we expect are in test/bench/signal-repos.json (never their files). Per repository:
//   - results, and results at warning or above (unsuppressed);
//   - expected weaknesses found (a result at warning or above in the same file, within 3 lines,
//     naming one of the expected weakness classes), and how many of them were reported more than
//     once (the same weakness should be one result);
//   - accepted: results at warning or above that are defensible though not expected;
//   - noise: every other result at warning or above, listed;
//   - what the file classification left out (files, results), and the run's time.
// Sources: a folder (the argument, or FUZZFORGE_SIGNAL_REPOS) holding `<owner>+<name>` as a git
// directory, a folder with a `repo` git directory, or a checkout; otherwise a bare partial clone
// from GitHub into ~/.cache/fuzzforge/bench-repos (needs the network). The commit is extracted
// with `git archive`. Everything runs on a real embedded backend on free loopback ports, removed
// on exit. BENCH_OUT: a file that gets the printed figures too.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { toolboxDir } from '../../backend/paths';
import { awaitScan, findWorkflow, startScan } from '../../backend/scan';
import { LEVEL_ORDER } from '../../backend/sarif/log';
import type { SarifLog } from '../../backend/sarif/types';
import { availableVerticals } from '../../backend/toolbox/verticals';
import { weaknessClasses } from '../../toolbox/modules/reporters/weakness';
import type { ScanSummary } from '../../toolbox/shared/definitions';
import { startTestBackend, type TestBackend } from '../integration/harness';

interface Place {
  file: string;
  line: number;
  weakness: string[];
  why: string;
}

interface RepoCase {
  repo: string;
  commit: string;
  kind: 'clean' | 'vulnerable';
  expected: Place[];
  accepted: Place[];
}

interface Reported {
  file: string;
  line: number;
  level: string;
  rules: string;
  classes: Set<string>;
}

const NEAR = 3;
const lines: string[] = [];
function print(line = ''): void {
  lines.push(line);
  console.log(line);
}

function git(args: string[], cwd?: string): { ok: boolean; out: string } {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** The git directory holding `repo`, from the given folder or a clone into the cache. */
function gitDirFor(repo: string, commit: string, from: string | undefined): string {
  const name = repo.replace('/', '+');
  if (from) {
    const base = path.join(from, name);
    for (const candidate of [path.join(base, 'repo'), path.join(base, '.git'), base]) {
      if (fs.existsSync(path.join(candidate, 'HEAD')) && fs.existsSync(path.join(candidate, 'objects'))) {
        return candidate;
      }
    }
    throw new Error(`${base}: no git directory of ${repo} there (expected ${name}/, ${name}/repo or ${name}/.git)`);
  }
  const cache = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'fuzzforge', 'bench-repos');
  const dir = path.join(cache, `${name}.git`);
  if (!fs.existsSync(path.join(dir, 'HEAD'))) {
    fs.mkdirSync(cache, { recursive: true });
    const url = `https://github.com/${repo}.git`;
    const cloned = git(['clone', '--quiet', '--bare', '--filter=blob:none', url, dir]);
    if (!cloned.ok) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error(
        `cannot clone ${url} (${cloned.out.trim().split('\n').pop() ?? 'failed'}); without network, pass a folder ` +
          `holding ${name} (a git directory or checkout) as the argument or in FUZZFORGE_SIGNAL_REPOS`,
      );
    }
  }
  if (!git(['cat-file', '-e', `${commit}^{commit}`], dir).ok) {
    git(['fetch', '--quiet', 'origin', commit], dir);
  }
  return dir;
}

function extract(gitDir: string, commit: string, dest: string): void {
  fs.mkdirSync(dest, { recursive: true });
  const archive = spawnSync('git', ['--git-dir', gitDir, 'archive', '--format=tar', commit], {
    maxBuffer: 1024 * 1024 * 1024,
  });
  if (archive.status !== 0) {
    throw new Error(`git archive ${commit} in ${gitDir} failed: ${archive.stderr.toString().trim()}`);
  }
  const tar = spawnSync('tar', ['-x', '-C', dest], { input: archive.stdout });
  if (tar.status !== 0) {
    throw new Error(`tar -x into ${dest} failed: ${tar.stderr.toString().trim()}`);
  }
}

function reported(log: SarifLog): Reported[] {
  const out: Reported[] = [];
  for (const run of log.runs) {
    for (const result of run.results ?? []) {
      const loc = result.locations?.[0]?.physicalLocation;
      const level = result.level ?? 'warning';
      if (result.suppressions?.length || result.baselineState === 'absent' || !loc?.artifactLocation?.uri) {
        continue;
      }
      const by = result.properties?.reportedBy as { tool: string; ruleId: string }[] | undefined;
      out.push({
        file: decodeURI(loc.artifactLocation.uri),
        line: loc.region?.startLine ?? 0,
        level,
        rules: (by ?? [{ tool: run.tool.driver.name, ruleId: result.ruleId ?? '?' }])
          .map((b) => `${b.tool}:${b.ruleId}`)
          .join(','),
        classes: weaknessClasses(run, result),
      });
    }
  }
  return out;
}

function matches(r: Reported, p: Place): boolean {
  return r.file === p.file && Math.abs(r.line - p.line) <= NEAR && p.weakness.some((w) => r.classes.has(w));
}

async function main(): Promise<void> {
  const spec = JSON.parse(fs.readFileSync(path.join(__dirname, 'signal-repos.json'), 'utf8')) as { repos: RepoCase[] };
  const from = process.argv[2] ?? process.env.FUZZFORGE_SIGNAL_REPOS;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-signal-'));
  let backend: TestBackend | undefined;
  try {
    const sources = spec.repos.map((c) => {
      process.stderr.write(`[signal] ${c.repo}@${c.commit.slice(0, 12)}\n`);
      const dest = path.join(work, c.repo.replace('/', '+'));
      extract(gitDirFor(c.repo, c.commit, from), c.commit, dest);
      return dest;
    });
    const verticals = availableVerticals(toolboxDir())
      .filter((v) => v.available && ['generic', 'python', 'node', 'go', 'cpp'].includes(v.vertical))
      .map((v) => v.vertical);
    backend = await startTestBackend({ verticals });
    const wf = findWorkflow(toolboxDir(), 'full_scan');
    print(`# full_scan on public repositories (verticals: ${verticals.join(', ')})`);
    print();
    print(
      '| repository | kind | results | warning+ | expected found | found twice | accepted | noise | left out files / results | time |',
    );
    print('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    const details: string[] = [];
    for (const [i, c] of spec.repos.entries()) {
      const started = Date.now();
      const { run } = await startScan(backend.conn, backend.runs, {
        path: sources[i] as string,
        workflow: wf,
        params: {},
        baseline: false,
      });
      const { summary, sarif } = await awaitScan(backend.conn, backend.runs, run.runId);
      const seconds = (Date.now() - started) / 1000;
      const all = reported(sarif);
      const loud = all.filter((r) => LEVEL_ORDER[r.level as keyof typeof LEVEL_ORDER] >= LEVEL_ORDER.warning);
      // Each result goes to the nearest place it matches (expected before accepted on a tie), so
      // three evals on three lines are three findings, not one found three times.
      const places = [...c.expected, ...c.accepted];
      const hits = places.map((): Reported[] => []);
      const noise: Reported[] = [];
      for (const r of loud) {
        let best = -1;
        places.forEach((p, k) => {
          const bestPlace = places[best];
          if (matches(r, p) && (!bestPlace || Math.abs(r.line - p.line) < Math.abs(r.line - bestPlace.line))) {
            best = k;
          }
        });
        (hits[best] ?? noise).push(r);
      }
      const found = c.expected.map((_, k) => hits[k]?.length ?? 0);
      const acceptedHits = hits.slice(c.expected.length);
      // A second result for an accepted place is a duplicate or a neighbour nobody accepted.
      noise.push(...acceptedHits.flatMap((h) => h.slice(1)));
      const accepted = acceptedHits.filter((h) => h.length > 0);
      const left = leftOutText(summary);
      print(
        `| ${c.repo} | ${c.kind} | ${all.length} | ${loud.length} | ${found.filter((n) => n > 0).length}/${c.expected.length} | ` +
          `${found.filter((n) => n > 1).length} | ${accepted.length} | ${noise.length} | ${left} | ${seconds.toFixed(1)} s |`,
      );
      c.expected.forEach((p, k) => {
        if ((found[k] ?? 0) !== 1) {
          details.push(`${c.repo}: ${found[k] ? `found ${found[k]} times` : 'missed'}: ${p.file}:${p.line} (${p.why})`);
        }
      });
      for (const r of noise) {
        details.push(`${c.repo}: noise: ${r.level} ${r.file}:${r.line} ${r.rules}`);
      }
    }
    print();
    for (const d of details) {
      print(`- ${d}`);
    }
  } finally {
    await backend?.stop().catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
    if (process.env.BENCH_OUT) {
      fs.writeFileSync(process.env.BENCH_OUT, `${lines.join('\n')}\n`);
    }
  }
}

function leftOutText(summary: ScanSummary): string {
  const l = summary.leftOut;
  if (!l) {
    return '-';
  }
  return `${l.files} / ${l.results.vendored + l.results.quiet + l.results.examples}`;
}

main().catch((err: unknown) => {
  console.error(`bench:signal failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
