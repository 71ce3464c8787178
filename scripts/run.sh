#!/usr/bin/env bash
# make run: the whole system on one machine without Docker. Temporal dev server (SQLite under .data,
# Web UI on :8233), a redis-server, the example connector and `signupflow serve`. Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .data bin

REDIS_PORT=${REDIS_PORT:-6380}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:${REDIS_PORT}/0}
export SMTP_URL=${SMTP_URL:-log}
export SIGNUPFLOW_SECRET=${SIGNUPFLOW_SECRET:-dev-only-secret-change-me-0123456789}
export SIGNUPFLOW_ADMIN_TOKEN=${SIGNUPFLOW_ADMIN_TOKEN:-dev-admin-token}
export VALIDATE_PASSWORD=${VALIDATE_PASSWORD:-dev-connector-password}

if ! command -v redis-server >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "run: installing redis-server (Debian package)"
    apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
  else
    echo "run: redis-server is missing. Install it (Debian/Ubuntu: sudo apt-get install redis-server) and retry." >&2
    exit 1
  fi
fi

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "run: stopping..."
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

./bin/temporal server start-dev --db-filename .data/temporal.db --ip 127.0.0.1 --ui-port 8233 \
  --log-level warn \
  --search-attribute SignupStatus=Keyword --search-attribute SignupFlow=Keyword \
  --search-attribute SignupEmailDomain=Keyword >.data/temporal.log 2>&1 &
pids+=($!)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$PWD/.data" --appendonly yes \
  --save "" >.data/redis.log 2>&1 &
pids+=($!)
./bin/example-connector >.data/example-connector.log 2>&1 &
pids+=($!)

echo "run: Temporal UI   http://localhost:8233"
echo "run: API           http://localhost:8080  (admin token: \$SIGNUPFLOW_ADMIN_TOKEN=$SIGNUPFLOW_ADMIN_TOKEN)"
echo "run: logs of the dev server, redis and the example connector are in .data/"
./bin/signupflow serve --config "${CONFIG:-examples/signupflow.yaml}" &
pids+=($!)
wait -n "${pids[@]}" || true
