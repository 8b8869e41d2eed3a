#!/usr/bin/env bash
# Build the compose backend's images from local parts: no container registry is needed.
#
#   docker-images.sh [--verticals generic,python|all|none] [--force]
#
#   1. debian:bookworm-slim   when absent: `debootstrap --variant=minbase bookworm` from the apt
#                             source this machine is configured with, cached as a tarball under
#                             the cache folder, then `docker import`ed under that tag (the tag every
#                             Dockerfile defaults to, so a machine with a registry pulls the real one)
#   2. fuzzforge/temporal:local, fuzzforge/minio:local
#                             compose/{temporal,minio}/Dockerfile around the binaries `fuzzforge
#                             setup` builds from the Go module proxy (static, CGO_ENABLED=0)
#   3. fuzzforge/runtime:local workers/Dockerfile: Node 20 + dist/ + backend/ + production
#                             node_modules (staged from this host; see the Dockerfile)
#   4. fuzzforge/worker-<vertical>:local
#                             workers/<vertical>/Dockerfile, which runs `fuzzforge setup --tools
#                             --vertical <vertical>` so the tool list stays in vertical.yaml. Go and
#                             Rust come from toolchain images; without a registry they are built
#                             from the host's /usr/local/go and rustup toolchain.
#
# Cached: every image carries the digest of its inputs in the label dev.fuzzforge.inputs and is
# rebuilt only when that digest changes (--force rebuilds anyway). Images are built with the
# classic builder and `--network host`: build containers have no bridge on these machines.
# Uses DOCKER_HOST, else /var/run/docker.sock, else the engine of docker-engine.sh.
#
# Environment:
#   FUZZFORGE_CACHE_DIR       staging folders and the rootfs tarball (default ~/.cache/fuzzforge)
#   FUZZFORGE_DEBIAN_MIRROR   apt mirror for debootstrap (default: read from /etc/apt)
#   FUZZFORGE_IMAGE_NODE      a Node 20 linux-x64 tree (extracted official tarball) to put in the
#                             runtime image instead of this host's node and npm
#   FUZZFORGE_IMAGE_CA_DIR    extra CA certificates (*.crt) for the images
#                             (default /usr/local/share/ca-certificates)
#   FUZZFORGE_GO_IMAGE        image with Go in /usr/local/go (e.g. golang:1.26-bookworm with a
#                             registry); default: fuzzforge/go-toolchain:local from the host's Go
#   FUZZFORGE_RUST_IMAGE      image with /usr/local/{rustup,cargo} (e.g. rust:1-bookworm);
#                             default: fuzzforge/rust-toolchain:local from the host's rustup
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache_dir=${FUZZFORGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fuzzforge}
stage_root=$cache_dir/image-build
rootfs_tar=$cache_dir/rootfs/debian-bookworm-minbase.tar
base_image=debian:bookworm-slim
runtime_image=fuzzforge/runtime:local
all_verticals=(generic python go cpp rust node)
label=dev.fuzzforge.inputs
# The classic builder: dockerd 20.10 has no buildx here, and it honours --network host.
export DOCKER_BUILDKIT=0

say() { echo "docker-images: $*" >&2; }
fail() {
  say "error: $*"
  exit 1
}

verticals=("${all_verticals[@]}")
force=0
while [ $# -gt 0 ]; do
  case "$1" in
    --verticals)
      [ $# -ge 2 ] || fail "--verticals needs a value (generic,python | all | none)"
      case "$2" in
        all) verticals=("${all_verticals[@]}") ;;
        none | '') verticals=() ;;
        *) IFS=, read -r -a verticals <<<"$2" ;;
      esac
      shift 2
      ;;
    --verticals=*)
      value=${1#--verticals=}
      case "$value" in
        all) verticals=("${all_verticals[@]}") ;;
        none | '') verticals=() ;;
        *) IFS=, read -r -a verticals <<<"$value" ;;
      esac
      shift
      ;;
    --force)
      force=1
      shift
      ;;
    -h | --help)
      sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) fail "unknown argument $1 (see --help)" ;;
  esac
done
for v in "${verticals[@]}"; do
  [ -f "$root/workers/$v/Dockerfile" ] || fail "no workers/$v/Dockerfile (verticals: ${all_verticals[*]})"
done

# ---------------------------------------------------------------------------------------------
# Helpers

# A short digest of stdin.
digest() { sha256sum | cut -c1-16; }

# Digest of files and folders (contents and relative names).
digest_paths() {
  local p
  for p in "$@"; do
    if [ -d "$p" ]; then
      (cd "$p" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
    elif [ -e "$p" ]; then
      sha256sum <"$p"
    else
      echo "missing $p"
    fi
  done | digest
}

image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }

up_to_date() {
  local image=$1 inputs=$2
  [ "$force" = 0 ] && [ "$(docker image inspect -f "{{index .Config.Labels \"$label\"}}" "$image" 2>/dev/null)" = "$inputs" ]
}

declare -a timings=()
# build IMAGE INPUTS DOCKERFILE CONTEXT [docker build args...]
build() {
  local image=$1 inputs=$2 dockerfile=$3 context=$4
  shift 4
  if up_to_date "$image" "$inputs"; then
    say "$image is up to date (inputs $inputs)"
    timings+=("$image: cached")
    return 0
  fi
  say "building $image (inputs $inputs)"
  local started=$SECONDS log=$stage_root/logs/${image//[\/:]/_}.log
  mkdir -p "$stage_root/logs"
  if ! docker build --network host --label "$label=$inputs" -f "$dockerfile" -t "$image" "$@" "$context" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    fail "docker build of $image failed (full log: $log)"
  fi
  say "built $image in $((SECONDS - started)) s"
  timings+=("$image: $((SECONDS - started)) s")
}

# rm -rf that retries once: a big tree can race with a process still closing files in it.
remove() { rm -rf "$@" 2>/dev/null || { sleep 2 && rm -rf "$@"; }; }

# Copy a tree for a build context: hard links when on the same filesystem (instant), else a copy.
stage_copy() {
  local from=$1 to=$2
  mkdir -p "$(dirname "$to")"
  cp -al "$from" "$to" 2>/dev/null || { rm -rf "$to" && cp -a "$from" "$to"; }
}

# ---------------------------------------------------------------------------------------------
# The engine

if ! timeout 10 docker version >/dev/null 2>&1; then
  engine_env=$("$root/backend/scripts/docker-engine.sh" env 2>/dev/null) ||
    fail "no Docker engine answers; start one with: backend/scripts/docker-engine.sh start"
  eval "$engine_env"
  export DOCKER_HOST
fi
say "engine: ${DOCKER_HOST:-unix:///var/run/docker.sock} ($(docker version --format '{{.Server.Version}}'))"
mkdir -p "$stage_root"

# ---------------------------------------------------------------------------------------------
# 1. The base image

# The first http(s) URI of an enabled `deb` source for bookworm in this machine's apt configuration.
apt_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'BEGIN { RS = "" }
      {
        types = ""; suites = ""; uris = ""; enabled = "yes"
        n = split($0, lines, "\n")
        for (i = 1; i <= n; i++) {
          line = lines[i]
          if (line ~ /^#/) continue
          if (line ~ /^Types:/) { sub(/^Types:[ \t]*/, "", line); types = " " line " " }
          else if (line ~ /^Suites:/) { sub(/^Suites:[ \t]*/, "", line); suites = " " line " " }
          else if (line ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", line); uris = line }
          else if (line ~ /^Enabled:/) { sub(/^Enabled:[ \t]*/, "", line); enabled = line }
        }
        if (types ~ / deb / && suites ~ / bookworm / && enabled != "no") { split(uris, u, " "); print u[1]; exit }
      }' "$f"
  done
  { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } |
    awk '$1 == "deb" {
      i = 2
      if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
      if ($(i + 1) == "bookworm") { print $i; exit }
    }'
}

make_rootfs() {
  command -v debootstrap >/dev/null ||
    fail "debootstrap is missing (apt-get install debootstrap, or run backend/scripts/docker-engine.sh start)"
  [ "$(id -u)" = 0 ] || fail "debootstrap needs root to make the base image"
  local mirror=${FUZZFORGE_DEBIAN_MIRROR:-}
  [ -n "$mirror" ] || mirror=$(apt_mirror | head -n1)
  [ -n "$mirror" ] || fail "no apt source for bookworm in /etc/apt; set FUZZFORGE_DEBIAN_MIRROR"
  mkdir -p "$(dirname "$rootfs_tar")"
  local work
  work=$(mktemp -d "$(dirname "$rootfs_tar")/debootstrap.XXXXXX")
  say "debootstrap --variant=minbase bookworm from $mirror (once; cached as $rootfs_tar)"
  local started=$SECONDS
  if ! debootstrap --variant=minbase bookworm "$work/root" "$mirror" >"$work.log" 2>&1; then
    tail -n 20 "$work.log" >&2
    for m in dev/pts dev proc sys; do
      mountpoint -q "$work/root/$m" 2>/dev/null && umount -l "$work/root/$m"
    done
    rm -rf --one-file-system "$work"
    fail "debootstrap failed (log: $work.log)"
  fi
  # Slim like the published image: no package caches or lists (builds run apt-get update).
  rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"* "$work/root/var/log/"*.log
  tar --numeric-owner -C "$work/root" -cf "$rootfs_tar.part" .
  mv "$rootfs_tar.part" "$rootfs_tar"
  rm -rf --one-file-system "$work" "$work.log"
  say "debootstrap + tarball in $((SECONDS - started)) s ($(du -h "$rootfs_tar" | cut -f1))"
  timings+=("debootstrap: $((SECONDS - started)) s")
}

if docker image inspect "$base_image" >/dev/null 2>&1; then
  say "$base_image is present"
else
  [ -s "$rootfs_tar" ] || make_rootfs
  started=$SECONDS
  docker import --change 'CMD ["bash"]' --change 'LABEL dev.fuzzforge.base=debootstrap-minbase' \
    "$rootfs_tar" "$base_image" >/dev/null || fail "docker import of $rootfs_tar failed"
  say "imported $base_image in $((SECONDS - started)) s"
  timings+=("docker import: $((SECONDS - started)) s")
fi
base_id=$(image_id "$base_image")

# ---------------------------------------------------------------------------------------------
# 2. Temporal and MinIO

# The service binary `fuzzforge setup` uses: override variable, PATH, then the cache.
service_binary() {
  local name=$1 override=$2
  if [ -n "${!override:-}" ]; then
    echo "${!override}"
  elif command -v "$name" >/dev/null; then
    command -v "$name"
  elif [ -x "$cache_dir/bin/$name" ]; then
    echo "$cache_dir/bin/$name"
  fi
}

for service in temporal minio; do
  override=FUZZFORGE_${service^^}_BIN
  bin=$(service_binary "$service" "$override")
  if [ -z "$bin" ]; then
    [ -f "$root/dist/cli.js" ] || fail "dist/cli.js is missing: run npm run setup (or npm run build) first"
    say "no $service binary yet: node dist/cli.js setup builds it from the Go module proxy"
    (cd "$root" && node dist/cli.js setup >&2) || fail "node dist/cli.js setup failed"
    bin=$(service_binary "$service" "$override")
    [ -n "$bin" ] || fail "node dist/cli.js setup did not produce a $service binary"
  fi
  if ldd "$bin" >/dev/null 2>&1; then
    say "warning: $bin is dynamically linked; it works on a Debian 12 base, build it with CGO_ENABLED=0 for any"
  fi
  inputs=$({
    sha256sum <"$bin"
    sha256sum <"$root/compose/$service/Dockerfile"
    echo "$base_id"
  } | digest)
  if ! up_to_date "fuzzforge/$service:local" "$inputs"; then
    rm -rf "$stage_root/$service"
    mkdir -p "$stage_root/$service"
    stage_copy "$bin" "$stage_root/$service/$service"
  fi
  build "fuzzforge/$service:local" "$inputs" "$root/compose/$service/Dockerfile" "$stage_root/$service" \
    --build-arg "BASE_IMAGE=$base_image"
done

# ---------------------------------------------------------------------------------------------
# 3. The runtime image

for f in dist/cli.js dist/worker.js package.json package-lock.json node_modules/.package-lock.json; do
  [ -f "$root/$f" ] || fail "$f is missing: run npm run setup (npm install + build) first"
done
newer=$(find "$root/backend" "$root/workers" "$root/toolbox/shared" -name '*.ts' -newer "$root/dist/worker.js" -print -quit)
[ -z "$newer" ] || say "warning: $newer is newer than dist/worker.js; the image gets dist/ as built (npm run build)"

ca_dir=${FUZZFORGE_IMAGE_CA_DIR:-/usr/local/share/ca-certificates}
if [ -n "${FUZZFORGE_IMAGE_NODE:-}" ]; then
  node_tree=$FUZZFORGE_IMAGE_NODE
  [ -x "$node_tree/bin/node" ] || fail "FUZZFORGE_IMAGE_NODE=$node_tree has no bin/node"
  node_bin=$node_tree/bin/node
  npm_dir=$node_tree/lib/node_modules/npm
else
  node_bin=$(readlink -f "$(command -v node)") || fail "node is not on PATH"
  npm_dir=$(dirname "$(dirname "$node_bin")")/lib/node_modules/npm
  [ -d "$npm_dir" ] || npm_dir=$(dirname "$(readlink -f "$(command -v npm)")")/..
  grep -q 'VERSION_CODENAME=bookworm' /etc/os-release ||
    say "warning: this host is not Debian 12: its node may not run on the image (set FUZZFORGE_IMAGE_NODE)"
fi
node_major=$("$node_bin" -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || fail "$node_bin is Node $node_major; the runtime needs Node 20 or newer"

runtime_inputs=$({
  sha256sum <"$node_bin"
  sha256sum <"$npm_dir/package.json"
  sha256sum <"$root/workers/Dockerfile"
  sha256sum <"$root/package.json"
  sha256sum <"$root/node_modules/.package-lock.json"
  digest_paths "$root/dist" "$root/backend"
  (cd "$root" && find workers -type f \( -name '*.ts' -o -name vertical.yaml \) -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
  find "$ca_dir" -name '*.crt' -type f -print0 2>/dev/null | LC_ALL=C sort -z | xargs -0 -r cat | sha256sum
  echo "$base_id"
} | digest)

stage_runtime() {
  local stage=$stage_root/runtime
  say "staging the runtime context in $stage"
  # node_modules is the slow part (a copy and a prune): kept while the lockfile is unchanged.
  local lock
  lock=$(sha256sum <"$root/node_modules/.package-lock.json" | digest)
  if [ "$(cat "$stage/node_modules.lock" 2>/dev/null)" != "$lock" ]; then
    remove "$stage"
  fi
  remove "$stage/node" "$stage/app" "$stage/ca-certificates"
  mkdir -p "$stage/node/bin" "$stage/node/lib/node_modules" "$stage/app" "$stage/ca-certificates"
  cp -a "$node_bin" "$stage/node/bin/node"
  cp -a "$npm_dir" "$stage/node/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$stage/node/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$stage/node/bin/npx"
  find "$ca_dir" -name '*.crt' -type f -exec cp {} "$stage/ca-certificates/" \; 2>/dev/null || true
  local app=$stage/app
  cp "$root/package.json" "$root/package-lock.json" "$app/"
  cp -a "$root/dist" "$app/dist"
  # The toolbox (mounted at run time) imports backend/ sources; the scripts are not needed.
  cp -a "$root/backend" "$app/backend"
  rm -rf "$app/backend/scripts"
  # The worker's own sources it compiles at start-up (the workflow interceptor) and every
  # vertical.yaml; not the Dockerfiles, which would rebuild everything when one changes.
  (cd "$root" && find workers -type f \( -name '*.ts' -o -name vertical.yaml \) -print0 | xargs -0 cp --parents -t "$app")
  if [ ! -d "$stage/node_modules" ]; then
    # Production dependencies: a copy of this checkout's node_modules pruned of dev dependencies
    # (no registry access), plus esbuild, which the worker uses to compile the toolbox.
    local prune=$stage/prune
    mkdir -p "$prune"
    cp "$root/package.json" "$root/package-lock.json" "$prune/"
    cp -a "$root/node_modules" "$prune/node_modules"
    rm -rf "$prune/node_modules/.cache"
    (
      cd "$prune"
      # A nested npm must not inherit an outer npm's configuration (npm run ...).
      for var in $(env | grep -o '^npm_[^=]*' || true); do unset "$var"; done
      npm prune --omit=dev --offline --no-audit --no-fund --ignore-scripts >"$stage_root/logs/npm-prune.log" 2>&1
    ) || fail "npm prune --omit=dev failed (log: $stage_root/logs/npm-prune.log)"
    rm -rf "$prune/node_modules/esbuild"
    cp -a "$root/node_modules/esbuild" "$prune/node_modules/esbuild"
    mkdir -p "$prune/node_modules/@esbuild"
    for platform in "$root"/node_modules/@esbuild/linux-*; do
      [ -d "$platform" ] && cp -a "$platform" "$prune/node_modules/@esbuild/"
    done
    # Temporal's core bridge ships every platform's native core and its Rust sources: keep linux-x64.
    local bridge=$prune/node_modules/@temporalio/core-bridge
    if [ -d "$bridge/releases/x86_64-unknown-linux-gnu" ]; then
      find "$bridge/releases" -mindepth 1 -maxdepth 1 ! -name x86_64-unknown-linux-gnu -exec rm -rf {} +
      rm -rf "$bridge/sdk-core" "$bridge/src" "$bridge/bridge-macros" "$bridge/scripts"
    fi
    mv "$prune/node_modules" "$stage/node_modules"
    rm -rf "$prune"
    echo "$lock" >"$stage/node_modules.lock"
  fi
  # Workers run as uid 1000, and npm's install step made the multitool (baseline matching)
  # executable for its owner, root, only.
  local multitool=$stage/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool
  if [ -f "$multitool" ]; then
    chmod a+rx "$multitool"
  fi
  say "runtime context: $(du -sh "$stage" | cut -f1)"
}

# What a vertical's tool installation depends on in the runtime image: not dist/ as a whole (it
# changes with every edit) but the installer's sources, Node, the dependencies and the base.
runtime_tool_inputs=$({
  sha256sum <"$node_bin"
  sha256sum <"$root/workers/Dockerfile"
  sha256sum <"$root/node_modules/.package-lock.json"
  sha256sum <"$root/backend/toolbox/tools.ts"
  sha256sum <"$root/backend/toolbox/verticals.ts"
  find "$ca_dir" -name '*.crt' -type f -print0 2>/dev/null | LC_ALL=C sort -z | xargs -0 -r cat | sha256sum
  echo "$base_id"
} | digest)

mkdir -p "$stage_root/logs"
up_to_date "$runtime_image" "$runtime_inputs" || stage_runtime
build "$runtime_image" "$runtime_inputs" "$root/workers/Dockerfile" "$stage_root/runtime" \
  --build-arg "BASE_IMAGE=$base_image"
runtime_id=$(image_id "$runtime_image")

# ---------------------------------------------------------------------------------------------
# 4. Toolchain images (only for the verticals that need them) and the vertical images

wants() {
  local v
  for v in "${verticals[@]}"; do [ "$v" = "$1" ] && return 0; done
  return 1
}

go_image=${FUZZFORGE_GO_IMAGE:-}
if [ -z "$go_image" ] && { wants generic || wants go; }; then
  go_image=fuzzforge/go-toolchain:local
  goroot=$(go env GOROOT 2>/dev/null) || fail "Go is not installed here: set FUZZFORGE_GO_IMAGE=golang:1.26-bookworm (needs a registry) or install Go"
  inputs=$({
    cat "$goroot/VERSION"
    sha256sum <"$goroot/bin/go"
    sha256sum <"$root/workers/go/toolchain.Dockerfile"
    echo "$base_id"
  } | digest)
  if ! up_to_date "$go_image" "$inputs"; then
    rm -rf "$stage_root/go-toolchain"
    stage_copy "$goroot" "$stage_root/go-toolchain/go"
  fi
  build "$go_image" "$inputs" "$root/workers/go/toolchain.Dockerfile" "$stage_root/go-toolchain" \
    --build-arg "BASE_IMAGE=$base_image"
fi

rust_image=${FUZZFORGE_RUST_IMAGE:-}
if [ -z "$rust_image" ] && wants rust; then
  rust_image=fuzzforge/rust-toolchain:local
  rustup_home=${RUSTUP_HOME:-$HOME/.rustup}
  cargo_home=${CARGO_HOME:-$HOME/.cargo}
  toolchain=$(sed -n 's/^default_toolchain *= *"\(.*\)"/\1/p' "$rustup_home/settings.toml" 2>/dev/null)
  [ -n "$toolchain" ] && [ -d "$rustup_home/toolchains/$toolchain" ] ||
    fail "no default rustup toolchain in $rustup_home: set FUZZFORGE_RUST_IMAGE=rust:1-bookworm (needs a registry) or install Rust"
  inputs=$({
    "$rustup_home/toolchains/$toolchain/bin/rustc" --version
    echo "$toolchain"
    sha256sum <"$cargo_home/bin/rustup"
    sha256sum <"$root/workers/rust/toolchain.Dockerfile"
    echo "$base_id"
  } | digest)
  if ! up_to_date "$rust_image" "$inputs"; then
    stage=$stage_root/rust-toolchain
    rm -rf "$stage"
    mkdir -p "$stage/rustup/toolchains" "$stage/cargo/bin"
    stage_copy "$(readlink -f "$rustup_home/toolchains/$toolchain")" "$stage/rustup/toolchains/$toolchain"
    printf 'version = "12"\ndefault_toolchain = "%s"\nprofile = "minimal"\nauto_self_update = "disable"\n' \
      "$toolchain" >"$stage/rustup/settings.toml"
    # rustup and its proxies (cargo, rustc, ...) are one program under several names.
    for proxy in rustup cargo rustc rustdoc cargo-clippy clippy-driver rustfmt cargo-fmt; do
      [ -e "$cargo_home/bin/$proxy" ] && cp -a "$cargo_home/bin/$proxy" "$stage/cargo/bin/$proxy"
    done
  fi
  build "$rust_image" "$inputs" "$root/workers/rust/toolchain.Dockerfile" "$stage_root/rust-toolchain" \
    --build-arg "BASE_IMAGE=$base_image"
fi

for v in "${verticals[@]}"; do
  args=(--build-arg "RUNTIME_IMAGE=$runtime_image")
  extra=""
  case "$v" in
    generic | go)
      args+=(--build-arg "GO_IMAGE=$go_image")
      extra=$(image_id "$go_image")
      ;;
    rust)
      args+=(--build-arg "RUST_IMAGE=$rust_image")
      extra=$(image_id "$rust_image")
      ;;
  esac
  inputs=$({
    sha256sum <"$root/workers/$v/Dockerfile"
    sha256sum <"$root/workers/$v/vertical.yaml"
    echo "$runtime_tool_inputs $extra"
  } | digest)
  # Two steps, so that an edit of the project does not reinstall every tool: :tools is the
  # vertical's Dockerfile as compose builds it (the repository is the context; .dockerignore keeps
  # it small), rebuilt only when the tools' inputs change; :local is :tools with the current
  # application from the runtime image laid over it (workers/refresh.Dockerfile, seconds).
  build "fuzzforge/worker-$v:tools" "$inputs" "$root/workers/$v/Dockerfile" "$root" "${args[@]}"
  final=$(echo "$(image_id "fuzzforge/worker-$v:tools") $runtime_id" | digest)
  mkdir -p "$stage_root/empty"
  build "fuzzforge/worker-$v:local" "$final" "$root/workers/refresh.Dockerfile" "$stage_root/empty" \
    --build-arg "TOOLS_IMAGE=fuzzforge/worker-$v:tools" --build-arg "RUNTIME_IMAGE=$runtime_image"
done

# Earlier builds of our images are now untagged: remove them (those a container still uses stay).
docker image prune -f --filter "label=$label" >/dev/null || true

say "done:"
for t in "${timings[@]}"; do say "  $t"; done
