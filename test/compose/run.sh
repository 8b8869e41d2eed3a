#!/usr/bin/env bash
# `npm run test:compose`: the compose backend's tests on a real Docker engine. Starts the project's
# own dockerd when no engine answers (backend/scripts/docker-engine.sh), builds the images the
# tests use (cached: a second run rebuilds nothing), then runs test/compose/*.test.ts.
# `--bench` (npm run bench:compose) runs test/bench/compose.ts instead.
set -euo pipefail
cd "$(dirname "$0")/../.."
source backend/scripts/clean-env.sh
started=$(date +%s)
bash backend/scripts/docker-engine.sh start
eval "$(bash backend/scripts/docker-engine.sh env)"
export DOCKER_HOST
bash backend/scripts/docker-images.sh --verticals generic,python
echo "test:compose: engine and images ready in $(($(date +%s) - started)) s ($DOCKER_HOST)"
if [ "${1:-}" = --bench ]; then
  exec node --import tsx test/bench/compose.ts
fi
exec node --import tsx --test --test-concurrency=1 --test-timeout=1200000 --test-reporter=spec test/compose/*.test.ts
