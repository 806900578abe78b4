#!/usr/bin/env bash
# npm test: provisions what the tests need, then lint, typecheck and every test tier.
# Fails on the first failing step.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n[test] %s\n' "$*"; }

step "provisioning MariaDB, Redis, the Temporal CLI, the time-skipping test server and Schemathesis"
node --import tsx scripts/provision.ts all
step "lint (eslint + prettier)"
npm run -s lint
step "typecheck (tsc --noEmit)"
npm run -s typecheck
step "workflow, activity, api and docs tests"
npx jest --selectProjects workflows activities api docs --maxWorkers=2 --passWithNoTests "$@"
step "contract tests (Schemathesis fuzzes docs/openapi.yaml against the app)"
npx jest --selectProjects contract --runInBand "$@"
step "integration tests (several api and worker processes, one file at a time)"
npx jest --selectProjects integration --runInBand "$@"
step "e2e tests (the web pages in Chromium against api and worker processes)"
npx jest --selectProjects e2e --runInBand "$@"
step "cluster smoke (Temporal services on PostgreSQL, Redis Cluster, nginx: a hold lapses, a payment goes through)"
npx jest --selectProjects cluster --runInBand "$@"
step "all tests passed"
