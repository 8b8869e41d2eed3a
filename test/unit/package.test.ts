// The pure parts of the .vsix builder (backend/scripts/package.ts): which packages a piece of code
// loads, and the dependency closure found the way Node finds packages.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bareImports, dependencyClosure, packageName, vsceTarget } from '../../backend/scripts/package';

describe('vsix packaging', () => {
  it('names the package of a module specifier', () => {
    assert.equal(packageName('@temporalio/worker/lib/workflow'), '@temporalio/worker');
    assert.equal(packageName('ajv/dist/runtime/equal'), 'ajv');
    assert.equal(packageName('yaml'), 'yaml');
  });

  it('finds the bare imports of bundled and source code, not built-ins, relative paths or vscode', () => {
    const code = [
      'const a = require("@temporalio/client");',
      "const b = require('node:fs'), c = require('path'), v = require('vscode');",
      "import * as esbuild from 'esbuild';",
      "import type { X } from '../../backend/paths';",
      "import { parse } from 'yaml/dist/index';",
      "const lazy = await import('minio');",
      "import 'source-map-support/register';",
      'const d = require("./local");',
    ].join('\n');
    assert.deepEqual(bareImports(code), ['@temporalio/client', 'esbuild', 'minio', 'source-map-support', 'yaml']);
  });

  it('reads no import out of the strings of a bundled library', () => {
    // As in @grpc/grpc-js, bundled into dist/ by esbuild (through dockerode).
    const bundle = [
      'var x = require("ssh2");',
      'this.trace("Connection dropped by client from " + JSON.stringify(socket.address()) + " to " + clientAddress);',
      "log('received from ' + peer + ' and from \"' + host + '\"');",
      "var text = 'import a value from \"somewhere\"';",
    ].join('\n');
    assert.deepEqual(bareImports(bundle, true), ['ssh2']);
    // Without requireOnly, a specifier still never holds white space.
    assert.ok(bareImports(bundle).every((p) => !/\s/.test(p)), JSON.stringify(bareImports(bundle)));
  });

  it('closes over installed dependencies and reports what is not installed', () => {
    const { folders, missing } = dependencyClosure(['@temporalio/client', 'no-such-package-fuzzforge']);
    assert.ok(folders.includes('node_modules/@temporalio/client'));
    assert.ok(folders.includes('node_modules/@temporalio/proto'), 'a dependency of the client');
    assert.ok(folders.includes('node_modules/@grpc/grpc-js'), 'a dependency of the client');
    assert.ok(!folders.some((f) => f.includes('dockerode')), 'nothing the roots do not need');
    assert.deepEqual(missing, ['no-such-package-fuzzforge']);
  });

  it("names vsce's platform targets", () => {
    assert.equal(vsceTarget('linux', 'x64'), 'linux-x64');
    assert.equal(vsceTarget('darwin', 'arm64'), 'darwin-arm64');
  });
});
