import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { BACKEND_MODES } from '../../backend/services/backend';
import { COMMAND_IDS, INTERNAL_COMMANDS } from '../../extension/commandIds';

interface Manifest {
  contributes: {
    commands: { command: string; title?: string; category?: string; icon?: string }[];
    menus?: Record<string, { command: string; when?: string; group?: string }[]>;
    viewsContainers?: { activitybar?: { id: string; title: string; icon: string }[] };
    views?: Record<string, { id: string; name: string }[]>;
    viewsWelcome?: { view: string; contents: string }[];
    configuration: { properties: Record<string, { default?: unknown; enum?: string[] }> };
  };
}

const root = path.join(__dirname, '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Manifest;

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

  it('puts only registered commands in menus; inline and title actions have icons', () => {
    const byId = new Map(manifest.contributes.commands.map((c) => [c.command, c]));
    for (const [menu, items] of Object.entries(manifest.contributes.menus ?? {})) {
      for (const item of items) {
        assert.ok(byId.has(item.command), `${menu}: ${item.command} is registered`);
        if (menu === 'view/title' || item.group?.startsWith('inline')) {
          assert.ok(byId.get(item.command)?.icon, `${menu}: ${item.command} has an icon`);
        }
      }
    }
  });
});

describe('views', () => {
  it('contributes the Runs, Findings, Crashes and Backend views in a FuzzForge container whose icon ships', () => {
    const container = manifest.contributes.viewsContainers?.activitybar?.find((c) => c.id === 'fuzzforge');
    assert.ok(container, 'activity bar container fuzzforge');
    assert.ok(fs.existsSync(path.join(root, container.icon)), container.icon);
    assert.deepEqual(
      manifest.contributes.views?.fuzzforge?.map((v) => [v.id, v.name]),
      [
        ['fuzzforge.runs', 'Runs'],
        ['fuzzforge.findings', 'Findings'],
        ['fuzzforge.crashes', 'Crashes'],
        ['fuzzforge.backend', 'Backend'],
      ],
    );
    for (const w of manifest.contributes.viewsWelcome ?? []) {
      for (const [, id] of w.contents.matchAll(/\(command:([\w.]+)\)/g)) {
        assert.ok((COMMAND_IDS as readonly string[]).includes(id!), `${w.view} welcome links ${id}`);
      }
    }
  });

  it('has no setting whose key is a prefix of another (VS Code would ignore the longer one)', () => {
    const keys = Object.keys(manifest.contributes.configuration.properties);
    const clashes = keys.flatMap((a) => keys.filter((b) => b.startsWith(`${a}.`)).map((b) => `${a} / ${b}`));
    assert.deepEqual(clashes, []);
  });

  it('declares the backend mode setting with every mode the backend knows', () => {
    const setting = manifest.contributes.configuration.properties['fuzzforge.backend.mode'];
    assert.ok(setting);
    assert.deepEqual(setting.enum, [...BACKEND_MODES]);
    assert.equal(setting.default, 'auto');
  });

  it('declares the groupBy setting with the groupings the view knows', () => {
    const setting = manifest.contributes.configuration.properties['fuzzforge.findings.groupBy'];
    assert.ok(setting);
    assert.deepEqual(setting.enum, ['severity', 'file', 'rule']);
    assert.equal(setting.default, 'severity');
  });
});
