import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import {
  languageOf,
  PATTERN_RULES,
  rulesForLanguage,
  scanSource,
  type Language,
  type PatternFinding,
} from '../../toolbox/modules/analyzers/patterns';

const FIXTURE = path.resolve(__dirname, '..', 'fixtures', 'vulnerable-app');
const EXPECTED = path.resolve(__dirname, '..', 'fixtures', 'vulnerable-app.expected.json');
const LANGUAGES: readonly Language[] = ['python', 'javascript', 'typescript', 'go', 'java', 'php', 'ruby', 'c'];

interface Expected {
  ruleId: string;
  file: string;
  line: number;
}

/** Source text from lines (keeps the tests readable where quotes and backticks abound). */
function src(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

function findings(lang: Language, text: string, ruleId?: string): PatternFinding[] {
  return scanSource(text, lang).filter((f) => ruleId === undefined || f.ruleId === ruleId);
}

/** Asserts that `ruleId` is reported on `line` (1-based). */
function assertFinds(lang: Language, text: string, ruleId: string, line = 1): void {
  const all = scanSource(text, lang);
  assert.ok(
    all.some((f) => f.ruleId === ruleId && f.line === line),
    `${lang}: expected ${ruleId} on line ${line} in:\n${text}\ngot ${JSON.stringify(all, null, 1)}`,
  );
}

/** Asserts that `ruleId` (or any rule) is not reported at all. */
function assertClean(lang: Language, text: string, ruleId?: string): void {
  const got = findings(lang, text, ruleId);
  assert.deepEqual(got, [], `${lang}: expected no ${ruleId ?? 'finding'} in:\n${text}`);
}

function fixtureFiles(): string[] {
  const out: string[] = [];
  const visit = (rel: string): void => {
    const entries = fs.readdirSync(rel ? path.join(FIXTURE, rel) : FIXTURE, { withFileTypes: true });
    for (const entry of entries) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (child !== 'ignored') {
          visit(child);
        }
      } else if (child !== 'README.md' && child !== '.gitignore') {
        out.push(child);
      }
    }
  };
  visit('');
  return out.sort();
}

function compareExpected(a: Expected, b: Expected): number {
  if (a.file !== b.file) {
    return a.file < b.file ? -1 : 1;
  }
  if (a.line !== b.line) {
    return a.line - b.line;
  }
  return a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : 0;
}

describe('vulnerable-app fixture', () => {
  const expected = JSON.parse(fs.readFileSync(EXPECTED, 'utf8')) as Expected[];

  it('produces exactly the findings listed in vulnerable-app.expected.json', () => {
    const actual: Expected[] = [];
    for (const file of fixtureFiles()) {
      const lang = languageOf(file);
      assert.ok(lang, `no language for fixture file ${file}`);
      for (const f of scanSource(fs.readFileSync(path.join(FIXTURE, file), 'utf8'), lang)) {
        actual.push({ ruleId: f.ruleId, file, line: f.line });
      }
    }
    actual.sort(compareExpected);
    assert.deepEqual(actual, expected);
  });

  it('keeps the expected list sorted by file, line and rule id', () => {
    assert.deepEqual([...expected].sort(compareExpected), expected);
  });

  it('has a file in every language and a finding of every rule', () => {
    const langs = new Set(fixtureFiles().map((f) => languageOf(f)));
    for (const lang of LANGUAGES) {
      assert.ok(langs.has(lang), `no ${lang} file in the fixture`);
    }
    assert.deepEqual(new Set(expected.map((e) => e.ruleId)), new Set(PATTERN_RULES.map((r) => r.id)));
  });

  it('would report the git-ignored secret if it were scanned', () => {
    const text = fs.readFileSync(path.join(FIXTURE, 'ignored', 'secret.py'), 'utf8');
    assert.equal(findings('python', text, 'ff-hardcoded-credential').length, 1);
    assert.ok(!expected.some((e) => e.file.startsWith('ignored/')));
    assert.equal(fs.readFileSync(path.join(FIXTURE, '.gitignore'), 'utf8').trim(), 'ignored/');
  });
});

describe('languageOf', () => {
  it('maps extensions to languages', () => {
    const cases: [string, Language][] = [
      ['a.py', 'python'],
      ['src/a.js', 'javascript'],
      ['a.mjs', 'javascript'],
      ['a.cjs', 'javascript'],
      ['a.jsx', 'javascript'],
      ['a.ts', 'typescript'],
      ['a.tsx', 'typescript'],
      ['a.mts', 'typescript'],
      ['a.cts', 'typescript'],
      ['types/index.d.ts', 'typescript'],
      ['cmd/main.go', 'go'],
      ['com/x/A.java', 'java'],
      ['index.php', 'php'],
      ['app.rb', 'ruby'],
      ['x.c', 'c'],
      ['x.h', 'c'],
      ['x.cc', 'c'],
      ['x.cpp', 'c'],
      ['x.hpp', 'c'],
      ['DIR\\WIN.PY', 'python'],
    ];
    for (const [file, lang] of cases) {
      assert.equal(languageOf(file), lang, file);
    }
  });

  it('returns undefined for other files', () => {
    for (const file of ['README.md', 'Makefile', '.gitignore', 'src/.py', 'data.json', 'a.py.bak', 'dir.py/file']) {
      assert.equal(languageOf(file), undefined, file);
    }
  });
});

describe('rule table', () => {
  it('has unique, well-formed rules', () => {
    const ids = PATTERN_RULES.map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length, 'rule ids are unique');
    assert.equal(new Set(PATTERN_RULES.map((r) => r.name)).size, ids.length, 'rule names are unique');
    for (const r of PATTERN_RULES) {
      assert.match(r.id, /^ff-[a-z0-9]+(?:-[a-z0-9]+)*$/, r.id);
      assert.match(r.name, /^[A-Z][A-Za-z0-9]+$/, r.name);
      assert.ok(r.cwe.length > 0, `${r.id} has a CWE`);
      for (const cwe of r.cwe) {
        assert.match(cwe, /^CWE-\d+$/, `${r.id}: ${cwe}`);
      }
      assert.equal(r.helpUri, `https://cwe.mitre.org/data/definitions/${r.cwe[0]?.slice(4)}.html`);
      assert.match(r.shortDescription, /^[A-Z].*\.$/, `${r.id} short description is a sentence`);
      const sentences = r.help.split(/(?<=\.)\s+(?=[A-Z])/).length;
      assert.ok(sentences >= 2 && sentences <= 4, `${r.id} help has 2-4 sentences (${sentences})`);
      assert.ok(['error', 'warning', 'note'].includes(r.level));
      assert.ok(['injection', 'eval', 'deserialization', 'crypto', 'credentials'].includes(r.category));
      assert.ok(['high', 'medium', 'low'].includes(r.precision));
    }
  });

  it('uses every rule in at least one language and covers every category', () => {
    const used = new Set(LANGUAGES.flatMap((l) => rulesForLanguage(l).map((r) => r.id)));
    assert.deepEqual(used, new Set(PATTERN_RULES.map((r) => r.id)));
    assert.deepEqual(
      new Set(PATTERN_RULES.map((r) => r.category)),
      new Set(['injection', 'eval', 'deserialization', 'crypto', 'credentials']),
    );
    assert.ok(
      PATTERN_RULES.some((r) => r.id === 'ff-weak-hash') && PATTERN_RULES.some((r) => r.id === 'ff-weak-cipher'),
    );
  });
});

describe('ff-command-injection', () => {
  const rule = 'ff-command-injection';

  it('finds shell commands built from data in every language', () => {
    const cases: [Language, string, number?][] = [
      ['python', src('import os', 'os.system("rm -rf " + path)'), 2],
      ['python', src('import os', 'out = os.popen(f"ls {d}").read()'), 2],
      ['python', src('import subprocess', 'subprocess.call(cmd, shell=True)'), 2],
      ['python', src('import subprocess', 'subprocess.run(', '    cmd,', '    shell=True,', ')'), 2],
      ['python', src('import subprocess', 'subprocess.run(["bash", "-c", user_cmd])'), 2],
      ['javascript', src("const { exec } = require('child_process');", 'exec(`git log ${ref}`);'), 2],
      ['javascript', src("const cp = require('node:child_process');", "cp.execSync('ls ' + dir);"), 2],
      ['javascript', src("const cp = require('child_process');", 'cp.spawn(cmd, { shell: true });'), 2],
      ['typescript', src("import * as child from 'node:child_process';", 'child.exec(command);'), 2],
      ['typescript', src("import { execSync } from 'child_process';", "execSync('tar xf ' + file);"), 2],
      ['go', src('out, _ := exec.Command("sh", "-c", "ls "+dir).Output()')],
      ['go', src('cmd := exec.CommandContext(ctx, "/bin/bash", "-c", script)')],
      ['java', src('Runtime.getRuntime().exec("ping " + host);')],
      ['java', src('Runtime rt = Runtime.getRuntime();', 'Process p = rt.exec(command);'), 2],
      ['java', src('new ProcessBuilder("sh", "-c", userCommand).start();')],
      ['php', src('<?php', 'system("ping " . $_GET["host"]);'), 2],
      ['php', src('<?php', 'echo shell_exec("ls $dir");'), 2],
      ['php', src('<?php', 'passthru($cmd);'), 2],
      ['php', src('<?php', '$out = `cat $file`;'), 2],
      ['ruby', src('system("tar czf out.tgz #{dir}")')],
      ['ruby', src('system cmd')],
      ['ruby', src('listing = `ls #{dir}`')],
      ['ruby', src('listing = %x(ls #{dir})')],
      ['ruby', src('IO.popen("grep #{pattern} log.txt")')],
      ['c', src('int run(const char *cmd) { return system(cmd); }')],
      ['c', src('FILE *f = popen(command, "r");')],
      ['c', src('execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);')],
    ];
    for (const [lang, text, line] of cases) {
      assertFinds(lang, text, rule, line ?? 1);
    }
  });

  it('ignores constant commands, argument lists and look-alikes', () => {
    const cases: [Language, string][] = [
      ['python', src('import os, subprocess', 'os.system("ls -l")', 'subprocess.run(["ls", "-l", d])')],
      ['python', src('import subprocess', 'subprocess.run(cmd)', 'subprocess.run("ls", shell=True)')],
      ['python', src('import asyncio', 'asyncio.run(main(), shell=True)')],
      ['javascript', src("const { execFile } = require('child_process');", "execFile('git', ['log', ref]);")],
      ['javascript', src("const { exec } = require('child_process');", "exec('ls -l');", 'const m = re.exec(input);')],
      ['javascript', src('// no child_process import here', 'db.exec(sql);', 'exec(query);')],
      ['go', src('exec.Command("git", "log", ref).Run()', 'exec.Command("sh", "-c", "ls -l").Run()')],
      ['java', src('new ProcessBuilder("git", "log", ref).start();', 'Runtime.getRuntime().exec("ls");')],
      ['java', src('Runtime.getRuntime().exec(new String[] {"git", "log", ref});')],
      ['php', src('<?php', '$pdo->exec($sql);', 'system("ls -l");', 'proc_open(["ls", $d], $spec, $pipes);')],
      ['php', src('<?php', 'function exec($x) { return $x; }', '$x = `ls -l`;')],
      ['ruby', src("system('ls', '-l', dir)", '`ls -l`', 'conn.exec(sql)', 'obj.system(x)')],
      ['c', src('system("ls -l");', 'int system(const char *command);')],
    ];
    for (const [lang, text] of cases) {
      assertClean(lang, text, rule);
    }
  });
});

describe('ff-sql-injection', () => {
  const rule = 'ff-sql-injection';

  it('finds SQL built from strings in every language', () => {
    const cases: [Language, string, number?][] = [
      ['python', src('cur.execute("SELECT * FROM users WHERE name = \'%s\'" % name)')],
      ['python', src('cur.execute(f"DELETE FROM users WHERE id = {uid}")')],
      ['python', src('cur.execute("SELECT * FROM t WHERE a = {}".format(a))')],
      ['python', src('q = "SELECT * FROM users WHERE id = " + uid', 'cursor.execute(q)'), 2],
      ['python', src('q = """', '  SELECT *', "  FROM users WHERE name = '%s'", '""" % name', 'db.execute(q)'), 5],
      ['python', src('sql = "SELECT * FROM t WHERE 1 = 1"', 'sql += " AND owner = " + owner', 'db.execute(sql)'), 3],
      ['javascript', src('db.query(`SELECT * FROM users WHERE id = ${req.params.id}`);')],
      ['javascript', src("const sql = 'SELECT * FROM users WHERE name = \\'' + name + '\\'';", 'pool.query(sql);'), 2],
      ['typescript', src("const q = `UPDATE users SET name = '${name}' WHERE id = 1`;", 'await client.query(q);'), 2],
      ['go', src('rows, err := db.Query("SELECT * FROM users WHERE name = \'" + name + "\'")')],
      ['go', src('q := fmt.Sprintf("SELECT * FROM users WHERE id = %s", id)', 'db.QueryRow(q)'), 2],
      ['go', src('db.ExecContext(ctx, fmt.Sprintf("DELETE FROM t WHERE id = %d", id))')],
      ['java', src('ResultSet rs = conn.createStatement().executeQuery("SELECT * FROM t WHERE n = \'" + n + "\'");')],
      ['java', src('String q = String.format("SELECT * FROM t WHERE id = %s", id);', 'stmt.execute(q);'), 2],
      ['php', src('<?php', '$r = mysqli_query($conn, "SELECT * FROM users WHERE id = $id");'), 2],
      ['php', src('<?php', '$sql = "SELECT * FROM t WHERE id = " . $_GET["id"];', '$pdo->query($sql);'), 3],
      ['php', src('<?php', '$sql = <<<SQL', 'SELECT * FROM t WHERE id = $id', 'SQL;', '$db->query($sql);'), 5],
      ['ruby', src('User.where("name = \'#{params[:name]}\'")')],
      ['ruby', src('db.execute("SELECT * FROM users WHERE id = #{id}")')],
      ['ruby', src('sql = <<~SQL', '  SELECT * FROM t WHERE id = #{id}', 'SQL', 'conn.exec(sql)'), 4],
      [
        'c',
        src('snprintf(q, sizeof(q), "SELECT * FROM t WHERE n = \'%s\'", n);', 'sqlite3_exec(db, q, 0, 0, &err);'),
        2,
      ],
      ['c', src('strcpy(q, "SELECT * FROM t WHERE n = \'");', 'strcat(q, name);', 'mysql_query(conn, q);'), 3],
    ];
    for (const [lang, text, line] of cases) {
      assertFinds(lang, text, rule, line ?? 1);
    }
  });

  it('ignores parameterised and constant queries', () => {
    const cases: [Language, string][] = [
      ['python', src('cur.execute("SELECT * FROM users WHERE name = %s", (name,))', 'cur.execute("SELECT 1")')],
      [
        'python',
        src('cur.execute("SELECT * FROM a " "WHERE b = 1")', 'cur.execute("SELECT * FROM t " + "WHERE x = 1")'),
      ],
      ['javascript', src("pool.query('SELECT * FROM users WHERE id = $1', [id]);", 'cache.get(`user:${id}`);')],
      ['go', src('db.Query("SELECT * FROM users WHERE id = $1", id)', 'log.Printf("SELECT %s", q)')],
      ['java', src('PreparedStatement ps = conn.prepareStatement("SELECT * FROM t WHERE id = ?");')],
      ['php', src('<?php', '$stmt = $pdo->prepare("SELECT * FROM t WHERE id = ?");', '$stmt->execute([$id]);')],
      ['ruby', src("User.where('name = ?', name)", 'User.where(name: name)', 'db.execute("SELECT 1 FROM t")')],
      ['c', src('sqlite3_exec(db, "SELECT * FROM t", 0, 0, &err);')],
    ];
    for (const [lang, text] of cases) {
      assertClean(lang, text, rule);
    }
  });

  it('names the variable and the line the query was built on', () => {
    const [f] = findings('go', src('q := fmt.Sprintf("SELECT * FROM t WHERE id = %s", id)', 'db.Query(q)'), rule);
    assert.equal(f?.message, 'db.Query() executes SQL from q, which is built by string formatting on line 1');
    assert.equal(f?.column, 4);
    assert.equal(f?.endColumn, 9);
  });
});

describe('ff-code-evaluation', () => {
  const rule = 'ff-code-evaluation';

  it('finds evaluation of dynamic strings', () => {
    const cases: [Language, string, number?][] = [
      ['python', src('result = eval(request.args["expr"])')],
      ['python', src('exec(code)')],
      ['javascript', src('const v = eval(req.query.expr);')],
      ['javascript', src("const f = new Function('a', 'return a + ' + extra);")],
      ['javascript', src("setTimeout('refresh(' + id + ')', 100);")],
      ['typescript', src("setInterval('tick()', 1000);")],
      ['typescript', src('vm.runInNewContext(userCode, sandbox);')],
      ['java', src('import javax.script.ScriptEngine;', 'Object v = engine.eval("1 + " + formula);'), 2],
      ['php', src('<?php', 'eval($_POST["code"]);'), 2],
      ['php', src('<?php', 'assert("$a > 0");'), 2],
      ['php', src('<?php', "$out = preg_replace('/(\\w+)/e', 'strtoupper(\"$1\")', $in);"), 2],
      ['php', src('<?php', "$f = create_function('$x', 'return $x;');"), 2],
      ['ruby', src('eval(params[:expr])')],
      ['ruby', src('obj.instance_eval(code)')],
      ['ruby', src('klass.class_eval "def #{name}; end"')],
    ];
    for (const [lang, text, line] of cases) {
      assertFinds(lang, text, rule, line ?? 1);
    }
  });

  it('ignores constant code, blocks and safe look-alikes', () => {
    const cases: [Language, string][] = [
      ['python', src('ast.literal_eval(s)', 'model.eval()', 'eval("1 + 1")', 'def eval(self, x):', '    pass')],
      ['javascript', src("new Function('a', 'return a');", 'setTimeout(() => refresh(id), 100);', 'obj.eval(x);')],
      ['java', src('Object v = expression.eval(context);')],
      ['php', src('<?php', 'assert($x > 0);', "preg_replace('/a/i', 'b', $s);", '$m->eval($x);')],
      ['ruby', src('obj.instance_eval do', '  run', 'end', 'obj.instance_eval { run }', 'obj.instance_eval(&blk)')],
    ];
    for (const [lang, text] of cases) {
      assertClean(lang, text, rule);
    }
  });
});

describe('ff-unsafe-deserialization', () => {
  const rule = 'ff-unsafe-deserialization';

  it('finds unsafe deserialisers', () => {
    const cases: [Language, string, number?][] = [
      ['python', src('obj = pickle.loads(data)')],
      ['python', src('obj = cPickle.load(fh)')],
      ['python', src('cfg = yaml.load(fh)')],
      ['python', src('cfg = yaml.load(fh, Loader=yaml.Loader)')],
      ['python', src('code = marshal.loads(blob)')],
      ['python', src('db = shelve.open(path)')],
      ['javascript', src("const serialize = require('node-serialize');", 'serialize.unserialize(cookie);'), 2],
      ['typescript', src("import { unserialize } from 'node-serialize';", 'const o = unserialize(body);'), 2],
      ['java', src('ObjectInputStream in = new ObjectInputStream(sock);', 'Object o = in.readObject();'), 2],
      ['java', src('XMLDecoder d = new XMLDecoder(stream);')],
      ['php', src('<?php', '$cart = unserialize($_COOKIE["cart"]);'), 2],
      ['ruby', src('obj = Marshal.load(data)')],
      ['ruby', src('cfg = YAML.load(File.read(path))')],
    ];
    for (const [lang, text, line] of cases) {
      assertFinds(lang, text, rule, line ?? 1);
    }
  });

  it('ignores safe loaders', () => {
    const cases: [Language, string][] = [
      ['python', src('cfg = yaml.safe_load(fh)', 'cfg = yaml.load(fh, Loader=yaml.SafeLoader)', 'json.loads(s)')],
      ['python', src('cfg = yaml.load(', '    fh,', '    Loader=yaml.CSafeLoader,', ')')],
      ['javascript', src('const o = JSON.parse(body);', 'unserialize(x); // no node-serialize import')],
      ['java', src('Object o = reader.readObject();', 'ObjectMapper m = new ObjectMapper();')],
      ['php', src('<?php', '$o = unserialize($s, ["allowed_classes" => false]);', '$j = json_decode($s);')],
      ['ruby', src('cfg = YAML.safe_load(File.read(path))', 'JSON.parse(body)')],
    ];
    for (const [lang, text] of cases) {
      assertClean(lang, text, rule);
    }
  });
});

describe('weak cryptography', () => {
  it('finds weak hashes (ff-weak-hash)', () => {
    const cases: [Language, string, number?][] = [
      ['python', src('h = hashlib.md5(data).hexdigest()')],
      ['python', src('h = hashlib.sha1(data)')],
      ['python', src('h = hashlib.new("md5")')],
      ['javascript', src("crypto.createHash('md5').update(s).digest('hex');")],
      ['typescript', src("createHash('sha1').update(s);")],
      ['go', src('import "crypto/md5"', 'h := md5.New()'), 2],
      ['go', src('import "crypto/sha1"', 'sum := sha1.Sum(b)'), 2],
      ['java', src('MessageDigest md = MessageDigest.getInstance("MD5");')],
      ['java', src('MessageDigest md = MessageDigest.getInstance("SHA-1");')],
      ['php', src('<?php', '$h = md5($password);'), 2],
      ['php', src('<?php', '$h = sha1($token);'), 2],
      ['ruby', src('Digest::MD5.hexdigest(body)')],
      ['ruby', src('Digest::SHA1.hexdigest(body)')],
      ['c', src('MD5_Init(&ctx);')],
      ['c', src('MD5(data, len, out);')],
      ['c', src('SHA1_Init(&ctx);')],
    ];
    for (const [lang, text, line] of cases) {
      assertFinds(lang, text, 'ff-weak-hash', line ?? 1);
    }
  });

  it('finds weak ciphers (ff-weak-cipher)', () => {
    const cases: [Language, string][] = [
      ['python', src('from Crypto.Cipher import DES', 'c = DES.new(key, DES.MODE_CBC, iv)')],
      ['python', src('c = Cipher(algorithms.TripleDES(key), modes.CBC(iv))')],
      ['javascript', src("crypto.createCipheriv('des-ede3-cbc', key, iv);")],
      ['typescript', src("createCipheriv('rc4', key, null);")],
      ['go', src('block, err := des.NewCipher(key)')],
      ['go', src('c, err := rc4.NewCipher(key)')],
      ['java', src('Cipher c = Cipher.getInstance("DESede/CBC/PKCS5Padding");')],
      ['java', src('Cipher c = Cipher.getInstance("Blowfish");')],
      ['php', src('<?php', "openssl_encrypt($d, 'bf-cbc', $k);")],
      ['ruby', src("OpenSSL::Cipher.new('des-ede3-cbc')")],
      ['c', src('EVP_EncryptInit_ex(ctx, EVP_des_ede3_cbc(), NULL, key, iv);')],
      ['c', src('RC4_set_key(&k, len, data);')],
    ];
    for (const [lang, text] of cases) {
      assert.ok(findings(lang, text, 'ff-weak-cipher').length === 1, `${lang}: expected ff-weak-cipher in:\n${text}`);
    }
  });

  it('finds ECB mode (ff-ecb-mode)', () => {
    const cases: [Language, string][] = [
      ['python', src('c = AES.new(key, AES.MODE_ECB)')],
      ['python', src('c = Cipher(algorithms.AES(key), modes.ECB())')],
      ['javascript', src("crypto.createCipheriv('aes-128-ecb', key, null);")],
      ['typescript', src("createCipheriv('aes-256-ecb', key, null);")],
      ['java', src('Cipher c = Cipher.getInstance("AES/ECB/PKCS5Padding");')],
      ['java', src('Cipher c = Cipher.getInstance("AES");')],
      ['php', src('<?php', "openssl_encrypt($d, 'aes-256-ecb', $k);")],
      ['ruby', src("OpenSSL::Cipher.new('aes-128-ecb')")],
      ['c', src('EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, key, NULL);')],
    ];
    for (const [lang, text] of cases) {
      assert.ok(findings(lang, text, 'ff-ecb-mode').length === 1, `${lang}: expected ff-ecb-mode in:\n${text}`);
    }
  });

  it('ignores strong algorithms and explicit non-security digests', () => {
    const cases: [Language, string][] = [
      ['python', src('hashlib.sha256(d)', 'hashlib.md5(d, usedforsecurity=False)', 'AES.new(k, AES.MODE_GCM)')],
      ['javascript', src("createHash('sha256');", "createCipheriv('aes-256-gcm', k, iv);", "createHmac('sha1', k);")],
      ['go', src('import "crypto/sha256"', 'h := sha256.New()', 'block, _ := aes.NewCipher(key)')],
      ['java', src('MessageDigest.getInstance("SHA-256");', 'Cipher.getInstance("AES/GCM/NoPadding");')],
      [
        'php',
        src(
          '<?php',
          "hash('sha256', $x);",
          'password_hash($p, PASSWORD_DEFAULT);',
          "openssl_encrypt($d, 'aes-256-gcm', $k);",
        ),
      ],
      ['ruby', src('Digest::SHA256.hexdigest(b)', "OpenSSL::Cipher.new('aes-256-gcm')", "require 'digest/md5'")],
      ['c', src('SHA256(data, len, out);', 'EVP_aes_256_gcm();', 'MD5_Update(&ctx, d, n);')],
    ];
    for (const [lang, text] of cases) {
      for (const rule of ['ff-weak-hash', 'ff-weak-cipher', 'ff-ecb-mode']) {
        assertClean(lang, text, rule);
      }
    }
  });
});

describe('ff-autoescape-disabled', () => {
  it('finds template engines set up without HTML escaping', () => {
    assertFinds('javascript', src('swig.setDefaults({', '  autoescape: false', '});'), 'ff-autoescape-disabled', 2);
    assertFinds(
      'javascript',
      "nunjucks.configure('views', { autoescape: false, express: app });",
      'ff-autoescape-disabled',
    );
    assertFinds(
      'typescript',
      "const env = new Environment(loader, { 'autoescape': false });",
      'ff-autoescape-disabled',
    );
    assertFinds('javascript', 'const t = Handlebars.compile(src, { noEscape: true });', 'ff-autoescape-disabled');
    assertFinds(
      'python',
      src('setup_jinja(app, loader=PackageLoader("sqli", "templates"),', '            autoescape=False)'),
      'ff-autoescape-disabled',
      2,
    );
    assertFinds('python', "TEMPLATES = [{'OPTIONS': {'autoescape': False}}]", 'ff-autoescape-disabled');
    assertFinds('php', "$twig = new \\Twig\\Environment($loader, ['autoescape' => false]);", 'ff-autoescape-disabled');
  });
  it('stays quiet when escaping stays on, in comments and strings', () => {
    assertClean('javascript', 'swig.setDefaults({ autoescape: true });', 'ff-autoescape-disabled');
    assertClean('javascript', '// swig.setDefaults({ autoescape: false });', 'ff-autoescape-disabled');
    assertClean('javascript', 'const doc = "autoescape: false is dangerous";', 'ff-autoescape-disabled');
    assertClean('python', 'env = Environment(autoescape=select_autoescape())', 'ff-autoescape-disabled');
    assertClean('python', 'env = Environment(autoescape=True)', 'ff-autoescape-disabled');
    assertClean('php', "$twig = new Environment($loader, ['autoescape' => 'html']);", 'ff-autoescape-disabled');
  });
});

describe('request data flows (ff-open-redirect, ff-ssrf, ff-nosql-injection)', () => {
  it('finds redirects to a location from the request, directly or through a variable', () => {
    assertFinds('javascript', 'app.get("/go", (req, res) => res.redirect(req.query.url));', 'ff-open-redirect');
    assertFinds(
      'typescript',
      src('const next = req.query.next as string;', 'return res.redirect(302, next);'),
      'ff-open-redirect',
      2,
    );
    assertFinds('python', 'return redirect(request.args.get("next"))', 'ff-open-redirect');
    assertFinds(
      'python',
      src('target = request.GET["to"]', 'return HttpResponseRedirect(target)'),
      'ff-open-redirect',
      2,
    );
    assertFinds('php', 'header("Location: " . $_GET["return"]);', 'ff-open-redirect');
    assertFinds('ruby', 'redirect_to params[:return_to]', 'ff-open-redirect');
    assertFinds('go', 'http.Redirect(w, r, r.URL.Query().Get("next"), http.StatusFound)', 'ff-open-redirect');
    assertFinds('java', 'response.sendRedirect(request.getParameter("url"));', 'ff-open-redirect');
  });
  it('stays quiet on fixed or validated redirect targets', () => {
    assertClean('javascript', 'res.redirect("/login");', 'ff-open-redirect');
    assertClean(
      'javascript',
      src('const next = req.query.next;', 'const safe = "/home";', 'res.redirect(safe);'),
      'ff-open-redirect',
    );
    assertClean('python', 'return redirect(url_for("index"))', 'ff-open-redirect');
    assertClean('php', 'header("Content-Type: " . $_GET["type"]);', 'ff-open-redirect');
    assertClean('javascript', '// res.redirect(req.query.url);', 'ff-open-redirect');
    assertClean(
      'python',
      src('next = request.args.get("next")', 'next = "/"', 'return redirect(next)'),
      'ff-open-redirect',
    );
  });
  it('finds requests to a URL from the request', () => {
    assertFinds(
      'javascript',
      src('const url = req.query.url + req.query.symbol;', 'return needle.get(url, cb);'),
      'ff-ssrf',
      2,
    );
    assertFinds('javascript', 'const r = await fetch(req.body.webhook);', 'ff-ssrf');
    assertFinds('python', 'resp = requests.get(request.args["feed"], timeout=5)', 'ff-ssrf');
    assertFinds('python', src('u = request.json["u"]', 'data = urlopen(u).read()'), 'ff-ssrf', 2);
    assertFinds('php', '$page = file_get_contents($_GET["src"]);', 'ff-ssrf');
    assertFinds('go', 'resp, err := http.Get(r.FormValue("target"))', 'ff-ssrf');
    assertFinds('java', 'URL u = new URL(request.getParameter("feed"));', 'ff-ssrf');
  });
  it('stays quiet when only other arguments come from the request', () => {
    assertClean('python', 'requests.get("https://api.example.com/search", params=request.args)', 'ff-ssrf');
    assertClean('javascript', 'axios.get(API_URL, { params: req.query });', 'ff-ssrf');
    assertClean('javascript', 'fetch("/api/items");', 'ff-ssrf');
  });
  it('finds $where built from strings and query objects taken from the request', () => {
    assertFinds(
      'javascript',
      "return { $where: `this.userId == ${id} && this.stocks > '${threshold}'` };",
      'ff-nosql-injection',
    );
    assertFinds('python', 'db.items.find({"$where": "this.owner == \'%s\'" % owner})', 'ff-nosql-injection');
    assertFinds('javascript', 'const user = await users.findOne(req.body);', 'ff-nosql-injection');
    assertFinds('python', 'doc = db.users.find_one(request.json)', 'ff-nosql-injection');
  });
  it('stays quiet on constant $where and field-by-field queries', () => {
    assertClean('javascript', "db.c.find({ $where: 'this.a > this.b' });", 'ff-nosql-injection');
    assertClean('javascript', 'users.findOne({ name: String(req.body.name) });', 'ff-nosql-injection');
    assertClean('javascript', 'const note = "use $where: with care";', 'ff-nosql-injection');
  });
});

describe('ff-hardcoded-credential', () => {
  const rule = 'ff-hardcoded-credential';

  it('finds credential literals in each language syntax', () => {
    const cases: [Language, string, number?][] = [
      ['python', src('DB_PASSWORD = "Winter2024!"')],
      ['python', src('config = {"api_key": "k-12345-abcdef"}')],
      ['python', src('conn = connect(user="app", password="S3cr3t-pw")')],
      ['python', src('class Settings:', '    client_secret: str = "cs-98765-zyx"'), 2],
      ['javascript', src("const dbPassword = 'hunter2-Db';")],
      ['javascript', src("module.exports = { auth: { password: 'Pa55word!' } };")],
      ['javascript', src("const headers = { 'x-api-key': 'a1b2c3d4e5f6' };")],
      ['typescript', src("export const accessToken: string = 'tok_1234567890';")],
      ['go', src('const apiKey = "AIzaSyD-1234567"')],
      ['go', src('secret := "jwt-signing-Secret-1"')],
      ['go', src('cfg := Config{Password: "go-pass-123"}')],
      ['java', src('private static final String PASSWORD = "j4va-Secret";')],
      ['java', src('String accessKey = "ak-0987654321";')],
      ['php', src('<?php', "$password = 'php-Secret-1';"), 2],
      ['php', src('<?php', "return ['db_password' => 'Inv3ntory!'];"), 2],
      ['php', src('<?php', "define('AUTH_TOKEN', 'tok-abcdef-123');"), 2],
      ['ruby', src("SMTP_PASSWORD = 'rb-Secret-42'")],
      ['ruby', src("settings = { password: 'rb-Secret-43' }")],
      ['ruby', src("settings = { :secret => 'rb-Secret-48' }")],
      ['c', src('char *password = "c-Secr3t-45";')],
      ['c', src('static const char api_key[] = "c-Secr3t-46";')],
      ['c', src('#define DB_PASSWORD "c-Secr3t-47"')],
    ];
    for (const [lang, text, line] of cases) {
      assertFinds(lang, text, rule, line ?? 1);
    }
  });

  it('ignores empty values, environment reads, placeholders, comparisons and non-secret names', () => {
    const cases: [Language, string][] = [
      [
        'python',
        src(
          'password = ""',
          'password = os.environ["DB_PASSWORD"]',
          'password = os.environ.get("DB_PASSWORD", "fallback-pw")',
          'api_key = os.getenv("API_KEY")',
          'password = "changeme"',
          'password = "<password>"',
          'password = "${DB_PASSWORD}"',
          'password = "your_password_here"',
          'token = "xxxxxxxxxxxx"',
          'secret = "***"',
          'api_key = "example-key-123"',
          'password = "dummy-password"',
          'token = "placeholder"',
          'secret = "TODO"',
          'if password == "hunter2222":',
          '    pass',
          'if token != "abcdef123456":',
          '    pass',
          'password_field = "pw-input-1"',
          'token_url = "https://auth.example/token"',
          'password_hint = "first-pet"',
          'secret_name = "prod/db/password"',
          'pwd = "abc"',
          'password = f"{prefix}-suffix"',
        ),
      ],
      [
        'javascript',
        src(
          'const password = process.env.DB_PASSWORD;',
          "const token = process.env.TOKEN || 'dev-token-1';",
          "if (password === 'hunter2222') {}",
          'const apiKey = `${prefix}-key`;',
          "const schema = { password: /^.{8,}$/, passwordLabel: 'Password' };",
          "const msg = { password: 'Please enter your password' };",
          "const x = cond ? password : 'abcdefgh';",
          "const y = cond ? password : 'Xq7#kLm2!pRz';",
          "const pass = 'Xq7#kLm2!pRz' + suffix;",
        ),
      ],
      ['go', src('password := os.Getenv("DB_PASSWORD")', 'if password == "hunter2222" {', '}')],
      ['java', src('String password = System.getenv("DB_PASSWORD");', 'if (password.equals("hunter2222")) {}')],
      ['php', src('<?php', "$password = getenv('DB_PASSWORD');", "'password' => env('DB_PASSWORD', 'fallback-pw'),")],
      [
        'ruby',
        src("password = ENV['DB_PASSWORD']", "token = ENV.fetch('TOKEN', 'dev-token-1')", "password == 'hunter2222'"),
      ],
      ['c', src('const char *password = getenv("DB_PASSWORD");', 'if (strcmp(password, "hunter2222") == 0) {}')],
    ];
    for (const [lang, text] of cases) {
      assertClean(lang, text, rule);
    }
  });

  it('redacts the secret in the snippet and keeps it out of the message', () => {
    const [f] = findings('python', src('DB_PASSWORD = "Winter2024!db"  # old value: "Winter2024!db"'), rule);
    assert.ok(f);
    assert.equal(f.snippet, 'DB_PASSWORD = "***"  # old value: "***"');
    assert.ok(!f.message.includes('Winter2024'));
    // The span of the value, as secret_detection reports it.
    assert.equal(f.column, 16);
    assert.equal(f.endColumn, 29);
  });

  it('redacts secrets in the snippets of other rules on the same line', () => {
    const text = src('import os', 'os.system(cmd); token = "tok-123456789"');
    const all = scanSource(text, 'python');
    assert.deepEqual(
      all.map((f) => f.ruleId),
      ['ff-command-injection', 'ff-hardcoded-credential'],
    );
    for (const f of all) {
      assert.equal(f.snippet, 'os.system(cmd); token = "***"');
    }
  });
});

describe('ff-hardcoded-credential carries the detector kind', () => {
  it('names the kind of the value it reports', () => {
    const token = `ghp_${'a1B2c3D4e5F6g7H8i9J0'.repeat(2).slice(0, 36)}`;
    const [f] = findings('python', `GITHUB_TOKEN = "${token}"`, 'ff-hardcoded-credential');
    assert.equal(f?.secretKind, 'github-token');
  });
});

describe('ff-aws-access-key and ff-private-key', () => {
  it('finds AWS access key ids, redacted', () => {
    for (const lang of LANGUAGES) {
      const text = lang === 'php' ? src('<?php', '$k = "AKIAD1NZJ0T8N5CQRPEQ";') : src('x = "AKIAD1NZJ0T8N5CQRPEQ";');
      const got = findings(lang, text, 'ff-aws-access-key');
      assert.equal(got.length, 1, lang);
      assert.ok(!got[0]?.snippet.includes('D1NZJ0T8N5CQRPEQ'), got[0]?.snippet);
      assert.ok(!got[0]?.message.includes('D1NZJ0T8N5CQRPEQ'));
    }
  });

  it('ignores the documentation example key and longer tokens', () => {
    assertClean('python', src('key = "AKIAIOSFODNN7EXAMPLE"', 'x = "XAKIAD1NZJ0T8N5CQRPEQ1"'), 'ff-aws-access-key');
  });

  it('finds PEM private keys with key material, redacted', () => {
    const body = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj';
    const multi = src('KEY = """-----BEGIN RSA PRIVATE KEY-----', body, '-----END RSA PRIVATE KEY-----"""');
    assertFinds('python', multi, 'ff-private-key');
    const single = src(`const key = "-----BEGIN PRIVATE KEY-----\\n${body}\\n-----END PRIVATE KEY-----";`);
    const [f] = findings('javascript', single, 'ff-private-key');
    assert.ok(f);
    assert.ok(!f.snippet.includes(body.slice(0, 20)), f.snippet);
    assert.match(f.snippet, /^const key = "-----BEGIN PRIVATE KEY-----\\n\*\*\*/);
  });

  it('ignores PEM headers without key material and in comments', () => {
    assertClean(
      'python',
      src('# -----BEGIN RSA PRIVATE KEY-----', 'assert pem.startswith("-----BEGIN PRIVATE KEY-----")', 'x = 1'),
      'ff-private-key',
    );
  });
});

describe('comments', () => {
  it('never reports code inside comments', () => {
    const cases: [Language, string][] = [
      ['python', src('# os.system(cmd)', 'x = 1  # eval(x)', 'y = 2  # password = "hunter2222"')],
      ['javascript', src('// eval(x)', '/* eval(y)', "   const password = 'hunter2222'; */", 'f(); /* eval(z) */')],
      ['typescript', src('/**', ' * eval(code)', ' */', 'let a = 1; // setTimeout("x()", 1)')],
      ['go', src('// exec.Command("sh", "-c", cmd)', '/* md5.New() */')],
      ['java', src('// Runtime.getRuntime().exec(cmd);', '/* MessageDigest.getInstance("MD5") */')],
      ['php', src('<?php', '# system($cmd);', '// eval($x);', '/* unserialize($y); */')],
      ['ruby', src('# system("ls #{d}")', '=begin', 'eval(params[:x])', 'Marshal.load(x)', '=end', 'x = 1')],
      ['c', src('// system(cmd);', '/* popen(cmd, "r");', '   MD5_Init(&c); */')],
    ];
    for (const [lang, text] of cases) {
      assertClean(lang, text);
    }
  });

  it('does not treat comment markers inside strings as comments', () => {
    const cases: [Language, string, string][] = [
      ['python', src('s = "# not a comment"; os.system(s)'), 'ff-command-injection'],
      ['python', src("s = '''a # b'''; exec(code)"), 'ff-code-evaluation'],
      ['javascript', src("const u = 'http://x'; eval(code);"), 'ff-code-evaluation'],
      ['javascript', src("const s = '/*'; eval(code); // */"), 'ff-code-evaluation'],
      ['typescript', src('const t = `a ${f(`//`)} /* b`; eval(code);'), 'ff-code-evaluation'],
      [
        'go',
        src('var s = "/*"', 'out, _ := exec.Command("sh", "-c", cmd).Output()', 'var t = "*/"'),
        'ff-command-injection',
      ],
      ['go', src('var raw = `// not a comment`; h := md5.New()', 'import "crypto/md5"'), 'ff-weak-hash'],
      ['java', src('String s = "// x"; Runtime.getRuntime().exec(cmd);'), 'ff-command-injection'],
      ['php', src('<?php', '$s = "#"; system($cmd);'), 'ff-command-injection'],
      ['php', src('<?php', "$s = '//'; passthru($cmd);"), 'ff-command-injection'],
      ['ruby', src('s = "#{a} # b"; system(cmd)'), 'ff-command-injection'],
      ['c', src('char *s = "/*"; system(cmd); /* x */'), 'ff-command-injection'],
    ];
    for (const [lang, text, rule] of cases) {
      const got = findings(lang, text, rule);
      assert.equal(got.length, 1, `${lang}: expected ${rule} in:\n${text}`);
    }
  });

  it('keeps line and column positions after blanking', () => {
    const text = src('/* one', '   two */ const x = 1; eval(code);');
    const [f] = findings('javascript', text, 'ff-code-evaluation');
    assert.equal(f?.line, 2);
    assert.equal(f?.column, 24); // 1-based column of `eval` on the second line
    assert.equal(f?.endColumn, 28);
  });

  it('does not report code inside strings or docstrings', () => {
    assertClean('python', src('"""Usage:', '    os.system(cmd)', '"""', 'msg = "call eval(x) later"'));
    assertClean('javascript', src("const help = 'run eval(code) to test';"));
  });
});

describe('scanSource', () => {
  it('reports at most one finding per rule and line: the leftmost', () => {
    const got = findings('python', src('import os', 'os.system(a); os.system(b); eval(c)'));
    assert.deepEqual(
      got.map((f) => [f.ruleId, f.line, f.column]),
      [
        ['ff-command-injection', 2, 1],
        ['ff-code-evaluation', 2, 29],
      ],
    );
  });

  it('sorts by line, then column, then rule id', () => {
    const text = src('x = 1', 'c = Cipher.getInstance("DES/ECB/PKCS5Padding");', 'String password = "j4va-Secret";');
    const got = scanSource(text, 'java');
    assert.deepEqual(
      got.map((f) => [f.line, f.column, f.ruleId]),
      [
        [2, 5, 'ff-ecb-mode'],
        [2, 5, 'ff-weak-cipher'],
        [3, 20, 'ff-hardcoded-credential'],
      ],
    );
    const sorted = [...got].sort((a, b) => a.line - b.line || a.column - b.column || a.ruleId.localeCompare(b.ruleId));
    assert.deepEqual(got, sorted);
  });

  it('filters by ruleIds', () => {
    const text = src('import os, hashlib', 'os.system(cmd)', 'eval(x)', 'hashlib.md5(b)');
    assert.deepEqual(
      scanSource(text, 'python', { ruleIds: ['ff-code-evaluation', 'ff-weak-hash'] }).map((f) => f.ruleId),
      ['ff-code-evaluation', 'ff-weak-hash'],
    );
    assert.deepEqual(scanSource(text, 'python', { ruleIds: [] }), []);
    assert.deepEqual(scanSource(text, 'python', { ruleIds: ['no-such-rule'] }), []);
    assert.equal(scanSource(text, 'python').length, 3);
  });

  it('returns well-formed findings with a trimmed, bounded snippet', () => {
    const long = `    eval(${'x'.repeat(400)})`;
    const [f] = scanSource(src(long), 'python');
    assert.ok(f);
    assert.equal(f.snippet.length, 200);
    assert.ok(f.snippet.startsWith('eval('));
    assert.equal(f.column, 5);
    assert.ok(f.endColumn > f.column);
    assert.equal(f.line, 1);
  });

  it('handles CRLF line endings, a BOM and empty input', () => {
    const [f] = scanSource('\ufeffimport os\r\nos.system(cmd)\r\n', 'python');
    assert.equal(f?.line, 2);
    assert.equal(f?.snippet, 'os.system(cmd)');
    assert.deepEqual(scanSource('', 'go'), []);
  });

  it('skips a 50,000-character line without hanging and still scans the next line', () => {
    const huge = `var a = ${'"x" + '.repeat(8_000)}eval(code); ${'('.repeat(5_000)}`;
    assert.ok(huge.length > 50_000);
    const got = scanSource(`${huge}\neval(other);\n`, 'javascript');
    assert.deepEqual(
      got.map((f) => [f.ruleId, f.line]),
      [['ff-code-evaluation', 2]],
    );
    for (const lang of LANGUAGES) {
      scanSource(`${'a('.repeat(25_000)}\n${'"'.repeat(50_000)}\n${'x = '.repeat(12_500)}`, lang);
    }
  });

  it('scans long lines below the limit', () => {
    const line = `${' '.repeat(9_000)}eval(code);`;
    assert.equal(findings('javascript', line, 'ff-code-evaluation').length, 1);
  });
});
