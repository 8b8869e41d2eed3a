#!/usr/bin/env bash
# The main job on a fresh machine: set up, start the embedded backend, scan the sample project,
# print the findings and write SARIF. The backend keeps running; `node dist/cli.js down` stops it.
set -euo pipefail
cd "$(dirname "$0")/../.."
# Nested installs get a clean environment: nothing an outer `npm run` exported leaks into them.
source backend/scripts/clean-env.sh

bash backend/scripts/setup.sh
node dist/cli.js up
sarif="${FUZZFORGE_DEMO_SARIF:-$PWD/fuzzforge-results.sarif}"
node dist/cli.js scan test/fixtures/vulnerable-app --workflow security_assessment --export-sarif "$sarif"
echo
echo "SARIF: $sarif"
echo "Temporal UI and MinIO console: node dist/cli.js status    stop everything: node dist/cli.js down"
