#!/usr/bin/env bash
# A Docker engine for the compose backend, started only when none is reachable.
#
#   docker-engine.sh start   use DOCKER_HOST or /var/run/docker.sock when they answer; otherwise
#                            install docker.io, docker-compose and debootstrap with apt and start
#                            the project's own dockerd (root only), then wait until it answers
#   docker-engine.sh env     print `export DOCKER_HOST=...` for the engine `start` would use
#   docker-engine.sh stop    stop the project's own dockerd (the pid in its pid file), nothing else
#   docker-engine.sh status  say which engine answers
#
# The project's daemon keeps everything private: data root under the cache folder (images are
# rebuildable), socket, pid file, exec root and log under the state folder. It runs with
# --iptables=false --bridge=none because these machines have no default bridge: compose gives
# every container a user-defined network, and ports published to 127.0.0.1 go through the
# userland proxy. Storage driver: overlay2 when the kernel and the backing filesystem allow it,
# else vfs; the choice is remembered next to the data root, because a data root written with one
# driver is unreadable with the other.
#
# Idempotent: `start` twice leaves one daemon; `stop` without a running daemon succeeds.
set -euo pipefail

cache_dir=${FUZZFORGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fuzzforge}
state_dir=${FUZZFORGE_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/fuzzforge}
data_root=$cache_dir/docker
driver_file=$cache_dir/docker.storage-driver
run_dir=$state_dir/docker
socket=$run_dir/docker.sock
pid_file=$run_dir/dockerd.pid
exec_root=$run_dir/exec
log_file=$run_dir/dockerd.log
own_host=unix://$socket
start_timeout=${FUZZFORGE_DOCKERD_TIMEOUT:-60}

say() { echo "docker-engine: $*" >&2; }
fail() {
  say "error: $*"
  exit 1
}

# True when the engine at $1 (a DOCKER_HOST value) answers a ping.
answers() {
  local host=$1
  timeout 10 docker -H "$host" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

# The DOCKER_HOST value of an engine that answers now, or nothing.
reachable_engine() {
  if [ -n "${DOCKER_HOST:-}" ] && answers "$DOCKER_HOST"; then
    echo "$DOCKER_HOST"
  elif [ -S /var/run/docker.sock ] && answers unix:///var/run/docker.sock; then
    echo unix:///var/run/docker.sock
  elif [ -S "$socket" ] && answers "$own_host"; then
    echo "$own_host"
  fi
}

# The pid of our dockerd when its pid file names a live dockerd serving our socket.
own_pid() {
  [ -f "$pid_file" ] || return 1
  local pid
  pid=$(cat "$pid_file" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  # A recycled pid belongs to some other program: only a dockerd with our socket counts.
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "dockerd .*$socket" || return 1
  echo "$pid"
}

apt_install() {
  local -a packages=("$@")
  local -a apt=(apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine has no package lists; a stale one may name versions the mirror dropped.
  if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
    say "apt-get update (no package lists yet)"
    "${apt[@]}" update -q >&2 || fail "apt-get update failed (is the apt source in /etc/apt reachable?)"
  fi
  say "apt-get install ${packages[*]}"
  if ! "${apt[@]}" install -y -q --no-install-recommends "${packages[@]}" >&2; then
    say "install failed; refreshing package lists and retrying"
    "${apt[@]}" update -q >&2 || fail "apt-get update failed (is the apt source in /etc/apt reachable?)"
    "${apt[@]}" install -y -q --no-install-recommends "${packages[@]}" >&2 ||
      fail "apt-get install ${packages[*]} failed"
  fi
}

ensure_packages() {
  local -a missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || fail "missing ${missing[*]}; install them as root: apt-get install ${missing[*]}"
    apt_install "${missing[@]}"
  fi
  # docker.io pulls in containerd and runc; dockerd starts its own containerd when none runs.
  command -v dockerd >/dev/null || fail "dockerd is still missing after installing docker.io"
}

# Start dockerd with one storage driver; succeed when it answers within the timeout.
launch() {
  local driver=$1
  say "starting dockerd (storage driver $driver, data root $data_root)"
  mkdir -p "$data_root" "$exec_root"
  chmod 700 "$run_dir"
  rm -f "$socket"
  {
    echo "---- $(date -u +%FT%TZ) dockerd --storage-driver $driver"
  } >>"$log_file"
  # setsid: the daemon outlives this script and the terminal that ran it.
  setsid dockerd \
    --host "$own_host" \
    --pidfile "$pid_file" \
    --data-root "$data_root" \
    --exec-root "$exec_root" \
    --storage-driver "$driver" \
    --iptables=false \
    --ip6tables=false \
    --bridge=none \
    --log-level warn \
    </dev/null >>"$log_file" 2>&1 &
  local child=$! waited=0
  while [ "$waited" -lt $((start_timeout * 2)) ]; do
    if answers "$own_host"; then
      echo "$driver" >"$driver_file"
      return 0
    fi
    if ! kill -0 "$child" 2>/dev/null; then
      say "dockerd with $driver exited during start-up; last log lines:"
      tail -n 5 "$log_file" >&2 || true
      return 1
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
  say "dockerd with $driver did not answer on $socket within ${start_timeout} s; stopping it"
  kill "$child" 2>/dev/null || true
  return 1
}

start() {
  local host
  host=$(reachable_engine)
  if [ -n "$host" ]; then
    say "engine answers on $host"
    return 0
  fi
  ensure_packages
  [ "$(id -u)" = 0 ] || fail "no Docker engine answers (DOCKER_HOST, /var/run/docker.sock) and starting one needs root"
  mkdir -p "$run_dir"
  if own_pid >/dev/null; then
    fail "dockerd (pid $(own_pid)) runs but does not answer on $socket; see $log_file, or run: $0 stop"
  fi
  # 108 bytes is the kernel's limit for a unix socket path.
  [ "${#socket}" -lt 100 ] || fail "socket path $socket is too long for a unix socket; set FUZZFORGE_STATE_DIR shorter"
  if [ -f "$driver_file" ]; then
    local driver
    driver=$(cat "$driver_file")
    launch "$driver" || fail "dockerd did not start with storage driver $driver (the one $data_root was made with); see $log_file"
  elif ! launch overlay2; then
    say "overlay2 is not usable here; falling back to vfs (slower, more disk)"
    rm -rf "${data_root:?}/overlay2"
    launch vfs || fail "dockerd did not start with overlay2 nor vfs; see $log_file"
  fi
  say "dockerd $(own_pid) answers on $own_host (storage driver $(cat "$driver_file"))"
}

stop() {
  local pid
  if ! pid=$(own_pid); then
    say "the project's dockerd is not running"
    rm -f "$pid_file"
    unmount_leftovers
    return 0
  fi
  say "stopping dockerd $pid"
  kill -TERM "$pid"
  local waited=0
  while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 60 ]; do
    sleep 0.5
    waited=$((waited + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "dockerd $pid did not stop within 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pid_file" "$socket"
  unmount_leftovers
}

# dockerd can leave its network namespace files (exec root's netns/) mounted when it stops; the
# folder then cannot be removed ("Device or resource busy"). Unmount what is left under our exec
# root, deepest first; nothing outside it is touched.
unmount_leftovers() {
  [ -r /proc/mounts ] || return 0
  awk -v root="$exec_root/" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r | while read -r mnt; do
    umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || say "could not unmount $mnt (left by dockerd)"
  done
}

print_env() {
  local host
  host=$(reachable_engine)
  [ -n "$host" ] || fail "no Docker engine answers; run: $0 start"
  echo "export DOCKER_HOST=$host"
}

status() {
  local host
  host=$(reachable_engine)
  if [ -n "$host" ]; then
    echo "engine $(docker -H "$host" version --format '{{.Server.Version}}') answers on $host"
  else
    echo "no engine answers"
    return 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) print_env ;;
  status) status ;;
  *)
    echo "usage: $0 start|stop|env|status" >&2
    exit 2
    ;;
esac
