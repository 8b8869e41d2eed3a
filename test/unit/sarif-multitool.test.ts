// Finding sarif-multitool in an installation's own node_modules, and saying exactly what is wrong
// when it cannot run there; the packager refuses targets it cannot ship the tool for.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { projectRoot } from '../../backend/paths';
import {
  checkSarifMultitool,
  executableArchs,
  sarifMultitoolPackage,
  sarifMultitoolPath,
} from '../../backend/sarif/multitool';
import { toolPackages } from '../../backend/scripts/package';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-multitool-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** An installation at `root` whose multitool is `content` with `mode`. */
function install(root: string, content: Buffer, mode = 0o755): string {
  const dir = path.join(root, 'node_modules', '@microsoft', 'sarif-multitool-linux');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'Sarif.Multitool');
  fs.writeFileSync(file, content);
  fs.chmodSync(file, mode);
  return file;
}

/** The first 64 bytes of a little-endian ELF executable for machine `eMachine`. */
function elfHeader(eMachine: number): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2; // 64-bit
  b[5] = 1; // little-endian
  b.writeUInt16LE(eMachine, 18);
  return b;
}

describe('sarif-multitool location', () => {
  it('names the platform packages Microsoft publishes, and no other', () => {
    assert.equal(sarifMultitoolPackage('linux'), '@microsoft/sarif-multitool-linux');
    assert.equal(sarifMultitoolPackage('win32'), '@microsoft/sarif-multitool-win32');
    assert.equal(sarifMultitoolPackage('freebsd'), undefined);
  });

  it('reads the architecture from ELF, Mach-O (thin and universal) and PE headers', () => {
    assert.deepEqual(executableArchs(elfHeader(0x3e)), ['x64']);
    assert.deepEqual(executableArchs(elfHeader(0xb7)), ['arm64']);
    const macho = Buffer.alloc(32);
    macho.writeUInt32LE(0xfeedfacf, 0);
    macho.writeUInt32LE(0x0100000c, 4);
    assert.deepEqual(executableArchs(macho), ['arm64']);
    const fat = Buffer.alloc(64);
    fat.writeUInt32BE(0xcafebabe, 0);
    fat.writeUInt32BE(2, 4);
    fat.writeUInt32BE(0x01000007, 8);
    fat.writeUInt32BE(0x0100000c, 28);
    assert.deepEqual(executableArchs(fat), ['x64', 'arm64']);
    const pe = Buffer.alloc(256);
    pe.writeUInt16LE(0x5a4d, 0);
    pe.writeUInt32LE(0x80, 0x3c);
    pe.writeUInt32BE(0x50450000, 0x80);
    pe.writeUInt16LE(0x8664, 0x84);
    assert.deepEqual(executableArchs(pe), ['x64']);
    assert.deepEqual(executableArchs(Buffer.from('#!/usr/bin/env node\n')), []);
  });

  it("finds this checkout's build, which runs here", { skip: process.platform !== 'linux' }, () => {
    const check = checkSarifMultitool();
    assert.equal(check.problem, undefined);
    assert.equal(
      check.path,
      path.join(projectRoot(), 'node_modules', '@microsoft', 'sarif-multitool-linux', 'Sarif.Multitool'),
    );
    const header = Buffer.alloc(64);
    const fd = fs.openSync(check.path, 'r');
    fs.readSync(fd, header, 0, 64, 0);
    fs.closeSync(fd);
    assert.ok(executableArchs(header).includes(process.arch), executableArchs(header).join(','));
  });

  it('resolves from the installation folder, not the working directory', () => {
    const root = path.join(tmp, 'installed');
    const file = install(root, elfHeader(0x3e));
    assert.equal(checkSarifMultitool(root, 'linux', 'x64').path, file);
    const elsewhere = path.join(tmp, 'no-tool');
    fs.mkdirSync(elsewhere);
    const cwd = process.cwd();
    process.chdir(root);
    try {
      // The working directory holds a multitool; the installation at `elsewhere` does not.
      assert.throws(() => sarifMultitoolPath(elsewhere), /sarif-multitool is not installed/);
    } finally {
      process.chdir(cwd);
    }
  });

  it('says which file is missing and how to get it', () => {
    const root = path.join(tmp, 'empty');
    fs.mkdirSync(root);
    const { path: found, problem } = checkSarifMultitool(root, 'linux', 'x64');
    assert.equal(found, undefined);
    assert.ok(problem?.includes(path.join(root, 'node_modules', '@microsoft', 'sarif-multitool-linux')), problem);
    assert.match(problem ?? '', /npm install/);
    assert.match(problem ?? '', /npm run package/);
    assert.match(problem ?? '', /linux-x64/);
    assert.match(checkSarifMultitool(root, 'freebsd', 'x64').problem ?? '', /no build for freebsd/);
  });

  it('refuses a build for another architecture and one that is not executable', () => {
    const root = path.join(tmp, 'arm');
    install(root, elfHeader(0xb7));
    assert.match(checkSarifMultitool(root, 'linux', 'x64').problem ?? '', /built for arm64, not x64/);
    assert.ok(checkSarifMultitool(root, 'linux', 'arm64').path);
    const plain = path.join(tmp, 'plain');
    // No x bit at all: refused even for root.
    const file = install(plain, elfHeader(0x3e), 0o644);
    const check = checkSarifMultitool(plain, 'linux', 'x64');
    assert.match(check.problem ?? '', /is not executable/);
    assert.ok(check.problem?.includes(`chmod u+x ${file}`), check.problem);
  });

  it(
    'packages the multitool for a target it runs on and refuses the others',
    { skip: process.platform !== 'linux' },
    () => {
      assert.deepEqual(toolPackages('linux', process.arch), ['@microsoft/sarif-multitool-linux']);
      const other = process.arch === 'x64' ? 'arm64' : 'x64';
      assert.throws(() => toolPackages('linux', other), new RegExp(`cannot package for linux-${other}: .*built for`));
      assert.throws(() => toolPackages('freebsd', process.arch), /cannot package for freebsd/);
    },
  );
});
