// Where sarif-multitool (baseline matching, `match-results-forward`) lives: the native build in
// the platform package @microsoft/sarif-multitool-<platform> of this installation's own
// node_modules (the checkout's, or the installed extension's, which the .vsix ships), never one
// found through the working directory or PATH. The executable is run directly, not through the
// npm wrapper's bin.js, which goes through a shell and an extra Node process.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../paths';

/** The npm package holding the multitool's build for `platform`, if Microsoft publishes one. */
export function sarifMultitoolPackage(platform: string = process.platform): string | undefined {
  return ['linux', 'darwin', 'win32'].includes(platform) ? `@microsoft/sarif-multitool-${platform}` : undefined;
}

/** The executable's file name inside the platform package. */
export function sarifMultitoolExecutable(platform: string = process.platform): string {
  return platform === 'win32' ? 'Sarif.Multitool.exe' : 'Sarif.Multitool';
}

/**
 * The CPU architectures (Node's names) a native executable runs on, read from its header: ELF,
 * Mach-O (thin or universal) and PE. Empty when the header is none of these.
 */
export function executableArchs(header: Buffer): string[] {
  const name = (m: number, table: Record<number, string>) => (table[m] ? [table[m]] : []);
  const elf = { 0x3e: 'x64', 0xb7: 'arm64', 0x03: 'ia32', 0x28: 'arm' };
  const macho = { 0x01000007: 'x64', 0x0100000c: 'arm64', 7: 'ia32' };
  const pe = { 0x8664: 'x64', 0xaa64: 'arm64', 0x14c: 'ia32' };
  if (header.length >= 20 && header.readUInt32BE(0) === 0x7f454c46) {
    // e_machine, in the byte order e_ident[EI_DATA] names.
    return name(header[5] === 2 ? header.readUInt16BE(18) : header.readUInt16LE(18), elf);
  }
  if (header.length >= 8 && [0xcffaedfe, 0xcefaedfe].includes(header.readUInt32BE(0))) {
    return name(header.readUInt32LE(4), macho);
  }
  if (header.length >= 8 && header.readUInt32BE(0) === 0xcafebabe) {
    // A universal binary: a big-endian count, then 20-byte entries starting with the CPU type.
    const count = header.readUInt32BE(4);
    const out: string[] = [];
    for (let i = 0; i < count && 8 + i * 20 + 4 <= header.length; i++) {
      out.push(...name(header.readUInt32BE(8 + i * 20), macho));
    }
    return out;
  }
  if (header.length >= 64 && header.readUInt16LE(0) === 0x5a4d) {
    const pe0 = header.readUInt32LE(0x3c);
    if (pe0 + 6 <= header.length && header.readUInt32BE(pe0) === 0x50450000) {
      return name(header.readUInt16LE(pe0 + 4), pe);
    }
  }
  return [];
}

function readHeader(file: string): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(4096);
    return buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0));
  } finally {
    fs.closeSync(fd);
  }
}

export interface SarifMultitoolCheck {
  /** The executable, when it is there and runs on this platform. */
  path?: string;
  /** Otherwise: what is missing and how to get it. */
  problem?: string;
}

/**
 * Find the multitool for `platform`/`arch` in the installation at `root` (default: this one) and
 * check it can run there: present, built for the architecture, executable.
 */
export function checkSarifMultitool(
  root: string = projectRoot(),
  platform: string = process.platform,
  arch: string = process.arch,
): SarifMultitoolCheck {
  const fix =
    'in a checkout run `npm install`; an installed extension must be the .vsix built for this platform ' +
    `(${platform}-${arch}) by \`npm run package\`, which ships it`;
  const pkg = sarifMultitoolPackage(platform);
  if (!pkg) {
    return { problem: `sarif-multitool has no build for ${platform}: baseline matching is unavailable here` };
  }
  const file = path.join(root, 'node_modules', ...pkg.split('/'), sarifMultitoolExecutable(platform));
  if (!fs.existsSync(file)) {
    return { problem: `sarif-multitool is not installed: ${file} is missing (${fix})` };
  }
  const archs = executableArchs(readHeader(file));
  if (archs.length > 0 && !archs.includes(arch)) {
    return {
      problem: `sarif-multitool at ${file} is built for ${archs.join(', ')}, not ${arch}: baseline matching is unavailable on ${platform}-${arch}`,
    };
  }
  if (platform !== 'win32') {
    try {
      fs.accessSync(file, fs.constants.X_OK);
    } catch {
      return {
        problem: `sarif-multitool at ${file} is not executable (its package's install step sets that): run \`chmod u+x ${file}\``,
      };
    }
  }
  return { path: file };
}

/** The multitool's executable, or an error that says what is missing and how to fix it. */
export function sarifMultitoolPath(root?: string): string {
  const { path: file, problem } = checkSarifMultitool(root);
  if (!file) {
    throw new Error(problem);
  }
  return file;
}
