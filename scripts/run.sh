#!/usr/bin/env bash
# make run: the whole system on one machine without Docker.
#
#   Temporal dev server  127.0.0.1:$TEMPORAL_PORT (7233), Web UI :$TEMPORAL_UI_PORT (8233),
#                        SQLite in .data/temporal.db, so sign-ups survive a restart
#   redis-server         127.0.0.1:$REDIS_PORT (6380), AOF in .data/ (codes, rate limits, accounts)
#   example connector    127.0.0.1:7071 (the URLs in examples/signupflow.yaml point there)
#   example IdP          127.0.0.1:7072, an upstream OpenID provider ("Sign in with Woodgrove staff", issuer
#                        http://127.0.0.1:7072/oidc, client signupflow, secret $WOODGROVE_IDP_SECRET);
#                        log .data/example-idp.log
#   signupflow serve     $SIGNUPFLOW_LISTEN (:8080), API and worker in one process, e-mails printed
#                        here (SMTP_URL=log)
#   example app          :3000, the OpenID Connect relying party of examples/signupflow.yaml (client
#                        example-app, redirect URI http://localhost:3000/callback); log .data/example-app.log
#
# Each part waits for the one before it to listen. Ctrl-C (or SIGTERM to this script) stops them all;
# a second Ctrl-C kills whatever is still stopping. After Ctrl-C the script exits 0 ("run: stopped.");
# if one part dies, the others are stopped too and the script exits non-zero. Logs of all but signupflow
# are in .data/*.log; signupflow logs to this console.
set -euo pipefail
# Started in the background (`make run &`, setsid, CI), a shell inherits SIGINT ignored, and bash cannot
# trap a signal that was ignored on entry: Ctrl-C would then kill the parts but not this script's
# clean-up. Re-exec once with the default dispositions (GNU env) so the traps below always work.
if [ -z "${SIGNUPFLOW_RUN_REEXEC:-}" ] && env --default-signal=INT true 2>/dev/null; then
  SIGNUPFLOW_RUN_REEXEC=1 exec env --default-signal=INT,QUIT,TERM bash "$0" "$@"
fi
unset SIGNUPFLOW_RUN_REEXEC
cd "$(dirname "$0")/.."
mkdir -p .data

CONFIG=${CONFIG:-examples/signupflow.yaml}
REDIS_PORT=${REDIS_PORT:-6380}
TEMPORAL_PORT=${TEMPORAL_PORT:-7233}
TEMPORAL_UI_PORT=${TEMPORAL_UI_PORT:-8233}
CONNECTOR_PORT=7071
# The example IdP's port is fixed: its issuer http://127.0.0.1:7072/oidc is named in $CONFIG.
IDP_PORT=7072
# The example app's port is fixed: its redirect URI http://localhost:3000/callback is registered in $CONFIG.
APP_PORT=3000
export SIGNUPFLOW_LISTEN=${SIGNUPFLOW_LISTEN:-:8080}
API_PORT=${SIGNUPFLOW_LISTEN##*:}
export EXAMPLE_APP_ISSUER=${EXAMPLE_APP_ISSUER:-http://localhost:$API_PORT}
export TEMPORAL_ADDRESS=127.0.0.1:${TEMPORAL_PORT}
export REDIS_URL=redis://127.0.0.1:${REDIS_PORT}/0
export SMTP_URL=${SMTP_URL:-log}
# Development values only: fixed so that codes and sessions survive a restart of `make run`.
export SIGNUPFLOW_SECRET=${SIGNUPFLOW_SECRET:-dev-only-secret-change-me-0123456789}
export SIGNUPFLOW_ADMIN_TOKEN=${SIGNUPFLOW_ADMIN_TOKEN:-dev-admin-token-for-make-run-only}
export VALIDATE_PASSWORD=${VALIDATE_PASSWORD:-dev-connector-password}
# The example IdP's client secret: the IdP reads it (--client-secret-env), and so does signupflow
# (clientSecretEnv of the woodgrove-corp identity provider in $CONFIG).
export WOODGROVE_IDP_SECRET=${WOODGROVE_IDP_SECRET:-dev-woodgrove-idp-secret-for-make-run}
# Reviewer API tokens of examples/signupflow.yaml's reviewerGroups (development values).
export REVIEWER_ALICE_TOKEN=${REVIEWER_ALICE_TOKEN:-dev-alice-reviewer-token}
export REVIEWER_BOB_TOKEN=${REVIEWER_BOB_TOKEN:-dev-bob-reviewer-token}
export REVIEWER_SEC1_TOKEN=${REVIEWER_SEC1_TOKEN:-dev-sec1-reviewer-token}

say() { echo "run: $*"; }
fail() { echo "run: $*" >&2; exit 1; }

for bin in bin/signupflow bin/example-connector bin/example-app bin/example-idp bin/temporal bin/plugins/domain-allowlist bin/plugins/name-normalizer; do
  [ -x "$bin" ] || fail "$bin is missing: start the system with 'make run', which builds it."
done
[ -f "$CONFIG" ] || fail "configuration file $CONFIG not found (set CONFIG=path/to/signupflow.yaml)."

if ! command -v redis-server >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "installing redis-server (Debian package)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
  else
    fail "redis-server is missing. Install it (Debian/Ubuntu: sudo apt-get install redis-server) and retry."
  fi
fi

# listening PORT: something accepts TCP connections on 127.0.0.1:PORT (bash's /dev/tcp, no extra tools).
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# holder PORT: " (held by <process>)" when ss can tell.
holder() {
  command -v ss >/dev/null 2>&1 || return 0
  local who
  who=$(ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'users:(([^)]*' | head -n 1 | sed 's/users:((//') || true
  [ -z "$who" ] || printf ' (held by %s)' "$who"
}

# Refuse to start when a port is taken, naming each one: otherwise a part would die with the reason
# buried in its log, or, worse, signupflow would talk to someone else's Temporal or Redis.
busy=0
check_port() { # PORT WHAT HOW-TO-MOVE
  if listening "$1"; then
    echo "run: port $1 ($2) is already in use$(holder "$1"). Stop that process (an earlier 'make run'" \
      "still running?) or $3." >&2
    busy=1
  fi
}
check_port "$TEMPORAL_PORT" "Temporal frontend" "set TEMPORAL_PORT"
check_port "$TEMPORAL_UI_PORT" "Temporal Web UI" "set TEMPORAL_UI_PORT"
check_port "$REDIS_PORT" "redis-server" "set REDIS_PORT"
check_port "$CONNECTOR_PORT" "example connector" "change the connector URLs in $CONFIG and EXAMPLE_CONNECTOR_LISTEN"
check_port "$IDP_PORT" "example IdP" "stop what holds it (the IdP's issuer in $CONFIG names this port)"
check_port "$API_PORT" "signupflow API" "set SIGNUPFLOW_LISTEN, e.g. SIGNUPFLOW_LISTEN=:8081"
check_port "$APP_PORT" "example app" "stop what holds it (the app's redirect URI in $CONFIG names this port)"
[ "$busy" = 0 ] || exit 1

pids=()
declare -A name_of log_of
force=0

# start NAME LOG CMD...: run CMD in the background; LOG "" means this console.
start() {
  local name=$1 log=$2
  shift 2
  if [ -n "$log" ]; then "$@" >"$log" 2>&1 & else "$@" & fi
  pids+=($!)
  name_of[$!]=$name
  log_of[$!]=$log
}

alive() { kill -0 "$1" 2>/dev/null; }

show_log() { # PID
  local log=${log_of[$1]}
  if [ -n "$log" ] && [ -s "$log" ]; then
    echo "run: last lines of $log:" >&2
    tail -n 15 "$log" | sed 's/^/    /' >&2
  fi
}

# wait_port PID PORT SECONDS: until the process listens on PORT; fails if it dies or takes too long.
wait_port() {
  local pid=$1 port=$2 deadline=$((SECONDS + $3))
  until listening "$port"; do
    if ! alive "$pid"; then
      echo "run: ${name_of[$pid]} exited during start-up." >&2
      show_log "$pid"
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      echo "run: ${name_of[$pid]} did not listen on port $port within $3 s." >&2
      show_log "$pid"
      exit 1
    fi
    sleep 0.2
  done
}

# stop PID: SIGTERM, then SIGKILL after 20 s (or at once after a second Ctrl-C).
stop() {
  local pid=$1 deadline=$((SECONDS + 20))
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    while alive "$pid" && ((SECONDS < deadline)) && [ "$force" = 0 ]; do sleep 0.1; done
    if alive "$pid"; then
      echo "run: ${name_of[$pid]} did not stop; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap 'force=1' INT TERM
  trap - EXIT
  if ((${#pids[@]} > 0)); then
    echo
    say "stopping..."
    # Newest first: signupflow lets go of Temporal and Redis before they stop.
    local i
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop "${pids[i]}"; done
    say "stopped."
  fi
  exit "$rc"
}
trap cleanup EXIT
# Ctrl-C is how a person ends `make run`: once every part has stopped, that is a clean end (status 0, so
# make prints no "Error 130"). SIGTERM from elsewhere keeps 143, and a part that died exits non-zero below.
trap 'exit 0' INT
trap 'exit 143' TERM

say "starting the Temporal dev server (SQLite .data/temporal.db, log .data/temporal.log)"
start "Temporal dev server" .data/temporal.log \
  ./bin/temporal server start-dev --db-filename .data/temporal.db --ip 127.0.0.1 \
  --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT" --log-level warn \
  --dynamic-config-value system.enableActivityEagerExecution=true \
  --search-attribute SignupStatus=Keyword --search-attribute SignupFlow=Keyword \
  --search-attribute SignupEmailDomain=Keyword
temporal_pid=$!

say "starting redis-server on port $REDIS_PORT (AOF in .data/, log .data/redis.log)"
start "redis-server" .data/redis.log \
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$PWD/.data" --appendonly yes --save ""
wait_port $! "$REDIS_PORT" 30

say "starting the example connector on 127.0.0.1:$CONNECTOR_PORT (log .data/example-connector.log)"
start "example connector" .data/example-connector.log \
  env EXAMPLE_CONNECTOR_LISTEN=127.0.0.1:$CONNECTOR_PORT ./bin/example-connector
wait_port $! "$CONNECTOR_PORT" 30

# Before signupflow, so that its discovery of the woodgrove-corp provider succeeds at start-up.
say "starting the example IdP on 127.0.0.1:$IDP_PORT (issuer http://127.0.0.1:$IDP_PORT/oidc, log .data/example-idp.log)"
start "example IdP" .data/example-idp.log \
  env EXAMPLE_IDP_LISTEN=127.0.0.1:$IDP_PORT EXAMPLE_IDP_ISSUER=http://127.0.0.1:$IDP_PORT/oidc \
  EXAMPLE_IDP_REDIRECT_URL=http://localhost:$API_PORT/federation/callback/woodgrove-corp \
  ./bin/example-idp --client-id signupflow --client-secret-env WOODGROVE_IDP_SECRET
wait_port $! "$IDP_PORT" 30

wait_port "$temporal_pid" "$TEMPORAL_PORT" 120
wait_port "$temporal_pid" "$TEMPORAL_UI_PORT" 60

say "starting signupflow serve --config $CONFIG"
start "signupflow" "" ./bin/signupflow serve --config "$CONFIG"
wait_port $! "$API_PORT" 120

# It starts even if the provider does not answer discovery yet: its home page says so and it retries.
say "starting the example app on :$APP_PORT (issuer $EXAMPLE_APP_ISSUER, log .data/example-app.log)"
start "example app" .data/example-app.log \
  env EXAMPLE_APP_LISTEN=:$APP_PORT ./bin/example-app
wait_port $! "$APP_PORT" 30

cat <<EOF
run: ready.
run:   Example app   http://localhost:$APP_PORT   (start here: Sign up, then Sign in)
run:   Sign-up page  http://localhost:$API_PORT/signup?client_id=partner-portal&redirect_uri=http://localhost:3000/callback&state=demo
run:   Console       http://localhost:$API_PORT/console   (reviewer token: $REVIEWER_ALICE_TOKEN)
run:   Woodgrove IdP http://127.0.0.1:$IDP_PORT/oidc/.well-known/openid-configuration   ("Woodgrove staff" sign-in)
run:   API           http://localhost:$API_PORT   (admin token: $SIGNUPFLOW_ADMIN_TOKEN)
run:   Temporal UI   http://localhost:$TEMPORAL_UI_PORT
run:   e-mails (one-time codes) are printed below; Ctrl-C stops everything.
EOF

# Run until Ctrl-C, or until one part dies: then stop the others and say which one it was.
rc=0
wait -n "${pids[@]}" || rc=$?
for pid in "${pids[@]}"; do
  if ! alive "$pid"; then
    echo "run: ${name_of[$pid]} exited unexpectedly (status $rc); stopping the rest." >&2
    show_log "$pid"
    break
  fi
done
exit $((rc == 0 ? 1 : rc))
