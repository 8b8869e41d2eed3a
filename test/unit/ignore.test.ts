import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { IgnoreStack } from '../../backend/storage/ignore';
import { largestOffenders, packWorkspace, walkWorkspace } from '../../backend/storage/pack';
import { UserError } from '../../backend/errors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-ignore-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function tree(root: string, files: Record<string, string>): string {
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(root, rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, content);
  }
  return root;
}

describe('IgnoreStack', () => {
  it('applies defaults and user excludes first, and they cannot be re-included', () => {
    const stack = new IgnoreStack(['node_modules/', '*.log']);
    stack.addGitignore('', '!debug.log\n');
    assert.equal(stack.ignores('node_modules', true), true);
    assert.equal(stack.ignores('debug.log', false), true);
    assert.equal(stack.ignores('src/app.ts', false), false);
  });

  it('lets a deeper .gitignore override a shallower one', () => {
    const stack = new IgnoreStack([]);
    stack.addGitignore('', '*.txt\n');
    stack.addGitignore('docs', '!keep.txt\n');
    assert.equal(stack.ignores('notes.txt', false), true);
    assert.equal(stack.ignores('docs/other.txt', false), true);
    assert.equal(stack.ignores('docs/keep.txt', false), false);
    stack.popTo('src');
    assert.equal(stack.ignores('src/keep.txt', false), true, 'docs/.gitignore no longer applies outside docs');
  });

  it('reuses compiled rules across walks without carrying a verdict to other rules or folders', () => {
    // Rule sets are kept compiled by their text, with the verdicts they gave: the same text in
    // another folder, or an edited text, must not be answered from another set's verdicts.
    const first = new IgnoreStack(['*.log']);
    first.addGitignore('', 'build-*\n');
    assert.equal(first.ignores('b.log', false), true);
    assert.equal(first.ignores('build-1', false), true);
    const edited = new IgnoreStack(['*.log', '!b.log']);
    edited.addGitignore('', 'build-*\n!build-1\n');
    assert.equal(edited.ignores('b.log', false), false, 'other excludes give their own verdict');
    assert.equal(edited.ignores('build-1', false), false, 'the edited .gitignore re-includes it');
    const again = new IgnoreStack(['*.log']);
    again.addGitignore('', 'build-*\n');
    again.addGitignore('sub', 'build-*\n');
    assert.equal(again.ignores('build-1', false), true);
    assert.equal(again.ignores('sub/build-2', false), true, 'the same text in another folder applies there');
    assert.equal(again.ignores('sub/keep', false), false);
  });

  it('matches directory-only patterns only against directories', () => {
    const stack = new IgnoreStack([]);
    stack.addGitignore('', 'out/\n');
    assert.equal(stack.ignores('out', true), true);
    assert.equal(stack.ignores('out', false), false);
  });
});

describe('walkWorkspace', () => {
  it('follows an edited .gitignore on the next walk of the same tree', async () => {
    const root = tree(path.join(tmp, 'ws-edit'), { '.gitignore': '*.tmp\n', 'a.tmp': 'x', 'b.py': 'x' });
    const rels = async () => (await walkWorkspace(root)).files.map((f) => f.rel).sort();
    assert.deepEqual(await rels(), ['.gitignore', 'b.py']);
    fs.writeFileSync(path.join(root, '.gitignore'), '*.py\n');
    assert.deepEqual(await rels(), ['.gitignore', 'a.tmp']);
    fs.writeFileSync(path.join(root, '.gitignore'), '*.tmp\n');
    assert.deepEqual(await rels(), ['.gitignore', 'b.py']);
  });

  it('honours .gitignore at every level, default excludes, user excludes and virtualenvs', async () => {
    const root = tree(path.join(tmp, 'ws1'), {
      '.gitignore': 'secrets/\n*.tmp\n',
      'src/main.py': 'print(1)\n',
      'src/cache.tmp': 'x',
      'src/.gitignore': 'generated.py\n!important.tmp\n',
      'src/generated.py': 'x',
      'src/important.tmp': 'x',
      'secrets/key.pem': 'x',
      'node_modules/lib/index.js': 'x',
      '.git/config': 'x',
      'env/pyvenv.cfg': 'home = /usr',
      'env/lib/site.py': 'x',
      'vendor/big.js': 'x',
      'docs/readme.md': 'x',
      '.fuzzforge/exclude': 'docs/\n',
    });
    const { files } = await walkWorkspace(root, { excludes: ['vendor/'] });
    assert.deepEqual(
      files.map((f) => f.rel),
      ['.fuzzforge/exclude', '.gitignore', 'src/.gitignore', 'src/important.tmp', 'src/main.py'],
    );
  });

  it('keeps symbolic links inside the workspace and skips those that escape', async () => {
    const root = tree(path.join(tmp, 'ws2'), { 'a/real.txt': 'hello' });
    fs.symlinkSync('real.txt', path.join(root, 'a/inner'));
    fs.symlinkSync('../../..', path.join(root, 'a/outer'));
    fs.symlinkSync('/etc/passwd', path.join(root, 'abs'));
    const { files, links, skipped } = await walkWorkspace(root);
    assert.deepEqual(
      files.map((f) => f.rel),
      ['a/real.txt'],
    );
    assert.deepEqual(links, [{ path: 'a/inner', target: 'real.txt' }]);
    assert.deepEqual(skipped.map((s) => s.path).sort(), ['a/outer', 'abs']);
  });

  it('refuses a workspace over the size limit and names the largest parts', async () => {
    const root = tree(path.join(tmp, 'ws3'), { 'data/blob.bin': 'x'.repeat(5000), 'src/a.c': 'int x;' });
    await assert.rejects(packWorkspace(root, { maxTotalBytes: 1000 }), (err: unknown) => {
      assert.ok(err instanceof UserError);
      assert.match(err.message, /over the 1000 B limit/);
      assert.match(err.message, /data\/blob\.bin 4\.9 KiB/);
      assert.match(err.hint ?? '', /--exclude/);
      return true;
    });
  });

  it('hashes files into a manifest with sizes and executable bits', async () => {
    const root = tree(path.join(tmp, 'ws4'), { 'run.sh': '#!/bin/sh\n', 'b.txt': 'abc' });
    fs.chmodSync(path.join(root, 'run.sh'), 0o755);
    const { manifest, totalBytes } = await packWorkspace(root);
    assert.equal(totalBytes, 13);
    assert.deepEqual(manifest.files, [
      {
        path: 'b.txt',
        sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
        size: 3,
        executable: false,
      },
      { path: 'run.sh', sha256: manifest.files[1]?.sha256, size: 10, executable: true },
    ]);
  });

  it('reports a missing folder clearly', async () => {
    await assert.rejects(walkWorkspace(path.join(tmp, 'nope')), /is not a folder/);
  });
});

describe('largestOffenders', () => {
  it('lists folders by total size, then files', () => {
    const out = largestOffenders(
      [
        { rel: 'a/1', size: 10 },
        { rel: 'a/2', size: 10 },
        { rel: 'b/3', size: 15 },
      ],
      2,
    );
    assert.deepEqual(out, ['a/ 20 B', 'b/ 15 B', 'b/3 15 B', 'a/1 10 B']);
  });
});
