#!/usr/bin/env bash
# `npm run test:fresh`: the README's two commands (`npm run demo`, then `npm test`) as a new user
# runs them on a new machine: in a fresh clone of HEAD, with HOME, the npm and pip caches, the Go
# build cache, FUZZFORGE_CACHE_DIR, FUZZFORGE_STATE_DIR, the e2e cache and the XDG folders all
# pointed at a new empty folder. Only what is not a cache stays shared: the machine's toolchains
# (rustup's toolchains and cargo under ~/.cargo, pyenv's Pythons, Go itself), the user's
# configuration files (~/.npmrc, ~/.gitconfig, go env) and the Go module and cargo registry
# download caches (they save downloads, never a build step). Debian packages stay installed:
# apt cannot be undone here, but every script that needs one installs it when it is missing.
# Prints how long each stage took. Keeps the folder on failure (FUZZFORGE_FRESH_KEEP=1 always).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
source "$repo/backend/scripts/clean-env.sh"

real_home="$HOME"
root="$(mktemp -d "${FUZZFORGE_FRESH_DIR:-${TMPDIR:-/tmp}}/fuzzforge-fresh.XXXXXX")"
started=$(date +%s)
stage_started=$started
timings=()
stage() {
  local now
  now=$(date +%s)
  if [ -n "${current_stage:-}" ]; then
    timings+=("$(printf '%-34s %5d s' "$current_stage" $((now - stage_started)))")
  fi
  current_stage="$1"
  stage_started=$now
  [ -n "$1" ] && echo "== test:fresh [+$((now - started)) s] $1"
  return 0
}
report() {
  local rc=$?
  stage ""
  echo
  echo "== test:fresh: stage times"
  printf '  %s\n' "${timings[@]}"
  printf '  %-34s %5d s\n' "total" $(($(date +%s) - started))
  if [ -d "$root/clone" ] && [ -f "$root/clone/dist/cli.js" ]; then
    (cd "$root/clone" && node dist/cli.js down >/dev/null 2>&1) || true
  fi
  # Only a run that got to the end passed (a signal can leave $? at 0).
  [ "${completed:-0}" = 1 ] || { [ "$rc" != 0 ] || rc=1; }
  # The project's own dockerd of this run, if the tests started one: stop it before removing its folders.
  if [ -f "$root/fuzzforge-state/docker/dockerd.pid" ]; then
    FUZZFORGE_STATE_DIR="$root/fuzzforge-state" FUZZFORGE_CACHE_DIR="$root/fuzzforge-cache" \
      bash "$repo/backend/scripts/docker-engine.sh" stop >/dev/null 2>&1 || true
  fi
  if [ "$rc" = 0 ] && [ "${FUZZFORGE_FRESH_KEEP:-0}" != 1 ]; then
    # A folder that cannot be removed (a mount left behind) does not change the verdict.
    rm -rf "$root" 2>/dev/null || echo "test:fresh: note: could not remove all of $root (see: grep $root /proc/mounts)"
    echo "test:fresh: PASSED"
  else
    echo "test:fresh: $([ "$rc" = 0 ] && echo PASSED || echo "FAILED (exit $rc)"); everything is kept in $root"
  fi
}
trap report EXIT

if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]; then
  echo "test:fresh: note: testing HEAD ($(git -C "$repo" rev-parse --short HEAD)); uncommitted changes are not in the clone"
fi

stage "clone HEAD"
git clone --quiet --no-hardlinks "$repo" "$root/clone"

# The new machine's user: empty home and caches, the machine's own configuration files.
home="$root/home"
mkdir -p "$home/.config"
for f in .npmrc .gitconfig .profile .bashrc; do
  [ -f "$real_home/$f" ] && cp "$real_home/$f" "$home/$f"
done
[ -f "$real_home/.config/go/env" ] && mkdir -p "$home/.config/go" && cp "$real_home/.config/go/env" "$home/.config/go/env"
gomodcache="$(go env GOMODCACHE 2>/dev/null || true)"
export HOME="$home"
export XDG_CACHE_HOME="$home/.cache" XDG_STATE_HOME="$home/.local/state" XDG_CONFIG_HOME="$home/.config"
export XDG_DATA_HOME="$home/.local/share"
export npm_config_cache="$root/npm-cache" PIP_CACHE_DIR="$root/pip-cache"
export FUZZFORGE_CACHE_DIR="$root/fuzzforge-cache" FUZZFORGE_STATE_DIR="$root/fuzzforge-state"
export FUZZFORGE_E2E_CACHE="$root/e2e-cache"
export GOCACHE="$root/go-build" GOPATH="$root/go"
[ -n "$gomodcache" ] && export GOMODCACHE="$gomodcache"
# Toolchains the machine came with (not caches): keep them where they are.
export CARGO_HOME="${CARGO_HOME:-$real_home/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$real_home/.rustup}"
export PYENV_ROOT="${PYENV_ROOT:-$real_home/.pyenv}"
# No engine of the user's: the tests start the project's own dockerd with a data root in the new
# cache, so the base image and every worker image are built from nothing, as on a new machine.
unset DOCKER_HOST
# A demo backend of its own: the state folder above, and ports taken elsewhere fall back to free ones.
export FUZZFORGE_DEMO_SARIF="$root/demo.sarif"

cd "$root/clone"
stage "npm run demo (README command 1)"
npm run demo
test -s "$FUZZFORGE_DEMO_SARIF"
node dist/cli.js down
stage "npm test (README command 2)"
npm test
stage ""
completed=1
