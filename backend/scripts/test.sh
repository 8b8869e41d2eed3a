#!/usr/bin/env bash
# Every suite, on a fresh machine or a warm one: set-up, type check, lint, unit, integration and
# hostile-input tests (real Temporal dev server, real MinIO, real workers on free loopback ports),
# the compose tests on a real Docker engine and the e2e tests in a real VS Code.
set -euo pipefail
cd "$(dirname "$0")/../.."
# Nested installs get a clean environment: nothing an outer `npm run` exported leaks into them.
source backend/scripts/clean-env.sh

bash backend/scripts/setup.sh
# The static toolbox's tools (bandit, semgrep, gosec, gitleaks, cppcheck, flawfinder, eslint):
# installed once under ~/.cache/fuzzforge/tools (apt system-wide), found there afterwards.
node dist/cli.js setup --tools
# A real VS Code for the e2e suite: code-server (npm) on Node 24 (npm), headless Debian Chromium
# driven by playwright-core; cached under ~/.cache/fuzzforge/e2e.
bash test/e2e/setup.sh
# The integration tests drive the development build (source maps in stack traces).
node esbuild.js --quiet
# The compose tests: a Docker engine (the project's own dockerd when none answers; apt installs
# docker.io, docker-compose and debootstrap) and the images they use, built from local parts and
# cached under ~/.cache/fuzzforge (a second run rebuilds nothing).
echo "== compose: Docker engine and images"
bash backend/scripts/docker-engine.sh start
eval "$(bash backend/scripts/docker-engine.sh env)"
export DOCKER_HOST
bash backend/scripts/docker-images.sh --verticals generic,python
echo "== typecheck"
npx tsc --noEmit -p tsconfig.json
npx tsc --noEmit -p webview/tsconfig.json
echo "== lint"
npx eslint --max-warnings=0 .
echo "== unit, integration, adversarial, compose and e2e tests"
# --test-timeout guards against a hang only (a test waiting for something that never comes fails
# after 20 min instead of running into CI's limit); no test is meant to come near it.
# Every suite runs even when an earlier one failed; the script fails when any did.
run_tests() {
  node --import tsx --test --test-concurrency=1 --test-timeout=1200000 --test-reporter=spec "$@"
}
status=0
run_tests test/unit/*.test.ts || status=1
# The integration and hostile-input files that only scan workspaces of their own share one embedded
# backend, started once here and stopped by pid when they end (also on failure or Ctrl-C); the
# others start their own (test/README.md says which and why).
node --import tsx test/integration/shared-backend.ts -- node --import tsx --test --test-concurrency=1 \
  --test-timeout=1200000 --test-reporter=spec test/integration/*.test.ts test/adversarial/*.test.ts || status=1
run_tests test/compose/*.test.ts test/e2e/*.test.ts || status=1
exit "$status"
