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

import aiohttp_jinja2
import jinja2
import markupsafe
import marshal
import requests
import yaml
from aiohttp_jinja2 import setup as setup_jinja
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from flask import Flask, Markup, render_template_string, request
from jinja2 import Environment, select_autoescape
from jinja2 import Environment as JinjaEnv
from markupsafe import escape


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


def autoescaping(app, loader):
    # ruleid: ff-py-autoescape-disabled
    jinja2.Environment(loader=loader, autoescape=False)
    # ruleid: ff-py-autoescape-disabled
    Environment(autoescape=False)
    # ruleid: ff-py-autoescape-disabled
    JinjaEnv(
        loader=loader,
        autoescape=False,
    )
    # ok: ff-py-autoescape-disabled
    Environment(loader=loader, autoescape=select_autoescape())
    # ok: ff-py-autoescape-disabled
    jinja2.Environment(autoescape=True)
    # ruleid: ff-py-autoescape-disabled
    aiohttp_jinja2.setup(app, loader=loader, autoescape=False)
    # ruleid: ff-py-autoescape-disabled
    setup_jinja(app, loader=loader, autoescape=False)
    # ok: ff-py-autoescape-disabled
    setup_jinja(app, loader=loader)
    # ruleid: ff-py-autoescape-disabled
    app.jinja_env.autoescape = False
    # ok: ff-py-autoescape-disabled
    app.jinja_env.autoescape = select_autoescape()
    # ruleid: ff-py-autoescape-disabled
    app.jinja_options = {"extensions": [], "autoescape": False}
    # ruleid: ff-py-autoescape-disabled
    app.jinja_options.update(autoescape=False)
    # ok: ff-py-autoescape-disabled
    app.jinja_options.update(trim_blocks=True)
    # ok: ff-py-autoescape-disabled
    return {"autoescape": False}


class PlainFlask(Flask):
    # ruleid: ff-py-autoescape-disabled
    jinja_options = {"autoescape": False}


TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "OPTIONS": {
            "context_processors": [],
            # ruleid: ff-py-autoescape-disabled
            "autoescape": False,
        },
    },
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        # ok: ff-py-autoescape-disabled
        "OPTIONS": {"autoescape": True, "debug": False},
    },
]


def marked_safe_flask():
    # ruleid: ff-py-request-marked-safe
    a = Markup(request.args.get("name"))
    # ruleid: ff-py-request-marked-safe
    b = markupsafe.Markup(f"<b>{request.form['q']}</b>")
    name = request.args["name"]
    greeting = "<h1>Hello %s</h1>" % name
    # ruleid: ff-py-request-marked-safe
    c = Markup(greeting)
    # ruleid: ff-py-request-marked-safe
    d = Markup("<p>{}</p>".format(request.values.get("x")))
    # ok: ff-py-request-marked-safe
    e = Markup("<b>constant</b>")
    # ok: ff-py-request-marked-safe
    f = Markup("<b>%s</b>") % name
    # ok: ff-py-request-marked-safe
    g = Markup(escape(name))
    # ok: ff-py-request-marked-safe
    h = Markup("<b>{}</b>").format(name)
    return a, b, c, d, e, f, g, h


def marked_safe_django(request, value):
    # ruleid: ff-py-request-marked-safe
    x = mark_safe(request.GET.get("next"))
    comment = request.POST["comment"]
    # ruleid: ff-py-request-marked-safe
    y = SafeString("<div>" + comment + "</div>")
    # ok: ff-py-request-marked-safe
    z = mark_safe("<hr>")
    # ok: ff-py-request-marked-safe
    w = format_html("<b>{}</b>", comment)
    # ok: ff-py-request-marked-safe
    v = mark_safe(value)
    return x, y, z, w, v


class SearchView:
    def get(self):
        # ruleid: ff-py-request-marked-safe
        return mark_safe(self.request.GET["q"])
