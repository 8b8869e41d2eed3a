# Known answers for python.yaml, checked with `semgrep --test` (test/integration/sast-python.test.ts):
# a "ruleid:" comment says the next line must match that rule, an "ok:" comment that it must not.
# Not application code: nothing here runs.
import hashlib
import os
import pickle
import socket
import subprocess
import tarfile
import tempfile

import marshal
import requests
import yaml
from flask import Flask, render_template_string


def sql(cur, conn, name, ids):
    # ruleid: ff-py-sql-injection
    cur.execute(f"SELECT * FROM users WHERE name = '{name}'")
    # ruleid: ff-py-sql-injection
    cur.execute("SELECT * FROM users WHERE name = '%s'" % name)
    # ruleid: ff-py-sql-injection
    cur.execute("SELECT * FROM users WHERE name = '{}'".format(name))
    query = "DELETE FROM users WHERE id IN (" + ids + ")"
    # ruleid: ff-py-sql-injection
    conn.execute(query)
    # ok: ff-py-sql-injection
    cur.execute("SELECT * FROM users WHERE name = ?", (name,))
    # ok: ff-py-sql-injection
    cur.execute("SELECT count(*) FROM users")


def commands(arg):
    # ruleid: ff-py-os-command-injection
    os.system("ls " + arg)
    # ruleid: ff-py-os-command-injection
    os.popen(f"du -sh {arg}")
    # ok: ff-py-os-command-injection
    os.system("sync")
    # ruleid: ff-py-subprocess-shell-true
    subprocess.run("grep " + arg + " /var/log/syslog", shell=True)
    # ruleid: ff-py-subprocess-shell-true
    subprocess.check_output(f"ping -c1 {arg}", shell=True, text=True)
    # ok: ff-py-subprocess-shell-true
    subprocess.run("uptime", shell=True)
    # ok: ff-py-subprocess-shell-true
    subprocess.run(["grep", arg, "/var/log/syslog"])


def evaluation(expr, code):
    # ruleid: ff-py-code-evaluation
    value = eval(expr)
    # ruleid: ff-py-code-evaluation
    exec(code, {})
    # ok: ff-py-code-evaluation
    eval("1 + 1")
    return value


def deserialisation(blob, fh, text):
    # ruleid: ff-py-pickle-deserialization
    pickle.loads(blob)
    # ruleid: ff-py-pickle-deserialization
    pickle.load(fh)
    # ok: ff-py-pickle-deserialization
    pickle.dumps(blob)
    # ruleid: ff-py-yaml-unsafe-load
    yaml.load(text, Loader=yaml.Loader)
    # ruleid: ff-py-yaml-unsafe-load
    yaml.unsafe_load(text)
    # ok: ff-py-yaml-unsafe-load
    yaml.load(text, Loader=yaml.SafeLoader)
    # ok: ff-py-yaml-unsafe-load
    yaml.safe_load(text)
    # ruleid: ff-py-marshal-deserialization
    marshal.loads(blob)
    # ok: ff-py-marshal-deserialization
    marshal.dumps(text)


def hashes(password, data):
    # ruleid: ff-py-weak-hash
    hashlib.md5(password.encode())
    # ruleid: ff-py-weak-hash
    hashlib.sha1(password.encode()).hexdigest()
    # ruleid: ff-py-weak-hash
    hashlib.new("md5", data)
    # ok: ff-py-weak-hash
    hashlib.md5(data, usedforsecurity=False)
    # ok: ff-py-weak-hash
    hashlib.sha256(data)


def tls(url, session):
    # ruleid: ff-py-tls-verify-disabled
    requests.get(url, verify=False)
    # ruleid: ff-py-tls-verify-disabled
    session.verify = False
    # ok: ff-py-tls-verify-disabled
    requests.post(url, json={}, timeout=5)


def servers(app, port):
    # ruleid: ff-py-bind-all-interfaces
    app.run(host="0.0.0.0", port=port)
    sock = socket.socket()
    # ruleid: ff-py-bind-all-interfaces
    sock.bind(("0.0.0.0", port))
    # ok: ff-py-bind-all-interfaces
    sock.bind(("127.0.0.1", port))
    # ruleid: ff-py-flask-debug
    app.run(debug=True)
    # ok: ff-py-flask-debug
    app.run(debug=os.environ.get("FLASK_DEBUG") == "1")


def temporary():
    # ruleid: ff-py-tempfile-mktemp
    name = tempfile.mktemp()
    # ok: ff-py-tempfile-mktemp
    fd, other = tempfile.mkstemp()
    return name, fd, other


def access(user, request):
    # ruleid: ff-py-assert-authorization
    assert user.is_admin
    # ruleid: ff-py-assert-authorization
    assert user.has_perm("notes.delete"), "forbidden"
    # ok: ff-py-assert-authorization
    assert isinstance(request, dict)


def templates(name):
    # ruleid: ff-py-template-injection
    render_template_string("<p>Hello " + name + "</p>")
    # ok: ff-py-template-injection
    render_template_string("<p>Hello {{ name }}</p>", name=name)


app = Flask(__name__)
# ruleid: ff-py-hardcoded-secret
app.config["SECRET_KEY"] = "f9c2a1e07b5d43aa"
# ruleid: ff-py-hardcoded-secret
DB_PASSWORD = "correct-horse-battery"
# ok: ff-py-hardcoded-secret
API_KEY = os.environ["API_KEY"]
# ok: ff-py-hardcoded-secret
password_hint = "at least twelve characters"
# ok: ff-py-hardcoded-secret
SECRET_KEY = ""


def archives(path, dest):
    with tarfile.open(path) as tar:
        # ruleid: ff-py-tarfile-extractall
        tar.extractall(dest)
    with tarfile.open(path) as tar:
        # ok: ff-py-tarfile-extractall
        tar.extractall(dest, filter="data")
