import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { COMMAND_IDS, INTERNAL_COMMANDS } from '../../extension/commandIds';

interface Manifest {
  contributes: {
    commands: { command: string; title?: string; category?: string }[];
    menus?: { commandPalette?: { command: string; when?: string }[] };
  };
}

const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as Manifest;

describe('command registry', () => {
  it('contributes exactly the registered commands, each prefixed and titled', () => {
    const contributed = manifest.contributes.commands.map((c) => c.command).sort();
    assert.deepEqual(contributed, [...COMMAND_IDS].sort());
    for (const c of manifest.contributes.commands) {
      assert.match(c.command, /^fuzzforge\.[a-z][A-Za-z]+$/, c.command);
      assert.ok(c.title && c.title.length > 3, `${c.command} has a title`);
      assert.equal(c.category, 'FuzzForge', `${c.command} is in the FuzzForge category`);
    }
  });

  it('hides the quick-fix commands from the palette', () => {
    const hidden = (manifest.contributes.menus?.commandPalette ?? [])
      .filter((m) => m.when === 'false')
      .map((m) => m.command);
    assert.deepEqual(hidden.sort(), [...INTERNAL_COMMANDS].sort());
  });
});
