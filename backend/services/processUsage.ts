// CPU and memory of the embedded backend's processes, read from /proc (Linux). A service's figures
// are its own process plus the descendants no other watched process claims: a worker's count
// includes the fuzzers and analysers it runs, the supervisor's leaves out Temporal and MinIO.
import * as fs from 'node:fs';

/**
 * Clock ticks per second of /proc/PID/stat times. USER_HZ is part of Linux's user-space ABI and
 * is 100 on every architecture Node runs on; Node has no sysconf to ask.
 */
export const CLOCK_TICKS_PER_SECOND = 100;

/** One line of /proc/PID/stat, the fields we use. */
export interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime + cutime + cstime: a child's time moves into its parent's when it is reaped. */
  ticks: number;
  /** Start time in ticks since boot: tells a reused pid from the process we saw before. */
  startTicks: number;
}

/** Parse /proc/PID/stat; undefined when the text is not one. */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) {
    return undefined;
  }
  const pid = Number(text.slice(0, open).trim());
  // Field n (1-based, as in proc(5)) is fields[n - 3]: the command name (field 2) may hold spaces.
  const fields = text
    .slice(close + 2)
    .trim()
    .split(' ');
  const field = (n: number) => Number(fields[n - 3]);
  const stat = {
    pid,
    ppid: field(4),
    ticks: field(14) + field(15) + field(16) + field(17),
    startTicks: field(22),
  };
  return Object.values(stat).every(Number.isFinite) ? stat : undefined;
}

/** Each watched root's process tree: the pids whose nearest watched ancestor (or self) it is. */
export function assignToRoots(table: ReadonlyMap<number, ProcStat>, roots: readonly number[]): Map<number, number[]> {
  const watched = new Set(roots.filter((pid) => table.has(pid)));
  const out = new Map<number, number[]>([...watched].map((pid) => [pid, []]));
  for (const pid of table.keys()) {
    let at: number | undefined = pid;
    // Bounded walk: a pid table read while processes come and go may hold a stale loop.
    for (let hops = 0; at !== undefined && hops < 64; hops++) {
      if (watched.has(at)) {
        out.get(at)!.push(pid);
        break;
      }
      at = table.get(at)?.ppid;
    }
  }
  return out;
}

/** Percent of one core used between two samples (200 = two cores busy); never negative. */
export function cpuPercent(
  before: { ticks: number; at: number },
  after: { ticks: number; at: number },
  hz = CLOCK_TICKS_PER_SECOND,
): number {
  const seconds = (after.at - before.at) / 1000;
  if (seconds <= 0) {
    return 0;
  }
  const percent = ((after.ticks - before.ticks) / hz / seconds) * 100;
  return Math.max(0, Math.round(percent * 10) / 10);
}

/** Resident memory in bytes from /proc/PID/status (VmRSS, in kB); 0 for kernel threads. */
export function parseRssBytes(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

export interface ProcessUsage {
  /** Undefined on the first sample of a process (CPU needs two). */
  cpuPercent?: number;
  rssBytes: number;
  /** How many processes the figures cover. */
  processes: number;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Every process's stat line; empty where there is no /proc. */
export function readProcTable(procDir = '/proc'): Map<number, ProcStat> {
  const table = new Map<number, ProcStat>();
  let names: string[];
  try {
    names = fs.readdirSync(procDir);
  } catch {
    return table;
  }
  for (const name of names) {
    if (/^\d+$/.test(name)) {
      const text = readText(`${procDir}/${name}/stat`);
      const stat = text === undefined ? undefined : parseProcStat(text);
      if (stat) {
        table.set(stat.pid, stat);
      }
    }
  }
  return table;
}

/** Samples the CPU and memory of process trees; keeps the previous sample to compute CPU. */
export class ProcessUsageSampler {
  private previous = new Map<string, { ticks: number; at: number }>();

  constructor(
    private readonly procDir = '/proc',
    private readonly now: () => number = Date.now,
  ) {}

  /** Usage of each root that is alive (its tree as described above); dead roots are left out. */
  sample(roots: readonly number[]): Map<number, ProcessUsage> {
    const table = readProcTable(this.procDir);
    const at = this.now();
    const out = new Map<number, ProcessUsage>();
    const next = new Map<string, { ticks: number; at: number }>();
    for (const [root, pids] of assignToRoots(table, roots)) {
      const key = `${root}/${table.get(root)!.startTicks}`;
      let ticks = 0;
      let rssBytes = 0;
      for (const pid of pids) {
        ticks += table.get(pid)!.ticks;
        const status = readText(`${this.procDir}/${pid}/status`);
        rssBytes += status ? parseRssBytes(status) : 0;
      }
      const before = this.previous.get(key);
      next.set(key, { ticks, at });
      out.set(root, {
        ...(before ? { cpuPercent: cpuPercent(before, { ticks, at }) } : {}),
        rssBytes,
        processes: pids.length,
      });
    }
    this.previous = next;
    return out;
  }
}
