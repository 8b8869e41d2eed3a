// Process-tree figures read from /proc, for the benchmarks that measure memory.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Every live process's children, by parent pid. */
function childrenByParent(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Gone.
    }
  }
  return children;
}

/** RSS (kB) of one process, 0 when it is gone. */
export function rssKb(pid: number | undefined): number {
  if (!pid) {
    return 0;
  }
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** A process and all its descendants: pid, command name and RSS (kB). */
export function processTree(pid: number): { pid: number; name: string; rssKb: number }[] {
  const children = childrenByParent();
  const out: { pid: number; name: string; rssKb: number }[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop() as number;
    let name = '?';
    try {
      name = fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim();
      if (name === 'node') {
        // A Node process by the script it runs (dist/worker.js: "node worker").
        const script = fs
          .readFileSync(`/proc/${p}/cmdline`, 'utf8')
          .split('\0')
          .find((arg) => arg.endsWith('.js'));
        name = script ? `node ${path.basename(script, '.js')}` : name;
      }
    } catch {
      // Gone.
    }
    out.push({ pid: p, name, rssKb: rssKb(p) });
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

/** RSS (kB) of a process and all its descendants. */
export function treeRssKb(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + p.rssKb, 0);
}
