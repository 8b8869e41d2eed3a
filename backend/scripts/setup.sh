#!/usr/bin/env bash
# Idempotent set-up of a checkout: npm dependencies (only when the lockfile changed), the build,
# and the Temporal/MinIO binaries (PATH, else cache, else `go install`, cached under ~/.cache).
set -euo pipefail
cd "$(dirname "$0")/../.."
# Nested installs get a clean environment: nothing an outer `npm run` exported leaks into them.
source backend/scripts/clean-env.sh

# `npm install` rather than `npm ci`: the lockfile cannot list the other platforms' optional
# binaries (@swc/core-darwin-*, ...) when the registry serves only this platform's, and `npm ci`
# refuses such a lockfile. The install still follows the lockfile's versions.
stamp=node_modules/.fuzzforge-install-stamp
lock_hash() { sha256sum package-lock.json package.json | sha256sum | cut -c1-16; }
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$(lock_hash)" ]; then
  echo "fuzzforge setup: installing npm dependencies"
  npm install --no-audit --no-fund
  lock_hash > "$stamp"
fi

echo "fuzzforge setup: building"
node esbuild.js --production --quiet

echo "fuzzforge setup: locating service binaries"
node dist/cli.js setup
