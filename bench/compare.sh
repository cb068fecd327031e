#!/usr/bin/env bash
# Tunnus against a peer: panva's node-oidc-provider (OpenID-certified), same load, same machine.
#
# Runs discovery, JWKS, client_credentials token and introspection with wrk (pinned to
# WRK_CPU) first against the peer, then -- the peer stopped -- against Tunnus with one worker,
# both servers pinned to SERVER_CPU. Tunnus runs on PostgreSQL + Redis: a scratch database
# (created if missing; its schema public is DROPPED and recreated), migrated, keys and a
# client_credentials client made with the `tunnus` CLI. After the runs (and more token
# requests if needed) the Tunnus worker's RSS is sampled once it has served RSS_AFTER
# requests. Prints req/s per endpoint, the ratio Tunnus/peer, Tunnus p50/p99, each server's
# CPU time per request (steadier than req/s on a busy machine), the worker RSS and the load
# average; then both servers' p50/p99 below full load (about half the peer's top rate,
# paced by bench/paced.lua). A benchmark, not a test.
#
#   bench/compare.sh                 # needs wrk (apt-get install -y wrk), node + npm, a venv (make install)
#
# Env knobs: DURATION (10s) THREADS (2) CONNS (16) TIMEOUT (5s) SERVER_CPU (0) WRK_CPU (1)
#   SERVER: granian (default: serve.py, as in production) | gunicorn-sync | gunicorn-gthread
#   BENCH_DATABASE_URL (postgresql+psycopg://postgres@127.0.0.1:5432/tunnus_perf; scratch!)
#   BENCH_REDIS_URL (redis://127.0.0.1:6379/5)  PEERS (../shared/peers)  RSS_AFTER (100000)
#   SKIP_PEER=1 measures Tunnus alone (no ratios)  TUNNUS_PORT (5077)  PEER_PORT (3000)
#   serve.py's own: TUNNUS_THREADS (4)  TUNNUS_BATCH_SCHEDULING (0; 1 for SCHED_BATCH)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/.venv/bin
PEERS=${PEERS:-$ROOT/../shared/peers}
DURATION=${DURATION:-10s}; THREADS=${THREADS:-2}; CONNS=${CONNS:-16}; TIMEOUT=${TIMEOUT:-5s}
SERVER_CPU=${SERVER_CPU:-0}; WRK_CPU=${WRK_CPU:-1}
SERVER=${SERVER:-granian}
DATABASE_URL=${BENCH_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/tunnus_perf}
REDIS_URL=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/5}
RSS_AFTER=${RSS_AFTER:-100000}
TUNNUS_PORT=${TUNNUS_PORT:-5077}; PEER_PORT=${PEER_PORT:-3000}
ENDPOINTS=(discovery jwks token_cc introspection)

for tool in wrk taskset curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool not found (wrk: apt-get install -y wrk)" >&2; exit 3; }
done
[ -x "$BIN/tunnus" ] || { echo "no $BIN/tunnus: run make install first" >&2; exit 3; }
[ -n "${SKIP_PEER:-}" ] || [ -d "$PEERS/node-oidc" ] || { echo "no peer harness in $PEERS (set PEERS)" >&2; exit 3; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tunnus-compare.XXXXXX")
SERVER_PID=
stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

wait_for() { # url log
  for _ in $(seq 1 150); do
    curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.2
  done
  echo "server did not come up at $1; its log:" >&2; tail -n 40 "$2" >&2; exit 4
}

# RFC 6749 §2.3.1: form-urlencode id and secret before base64.
basic_auth() {
  python3 -c 'import base64,sys,urllib.parse as u; q=lambda s: u.quote(s, safe=""); print(base64.b64encode(f"{q(sys.argv[1])}:{q(sys.argv[2])}".encode()).decode())' "$1" "$2"
}

json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# The process that serves: the server itself if it has no children, else its largest child.
worker_pid() {
  local pids; pids=$(pgrep -P "$SERVER_PID" || true)
  [ -n "$pids" ] || { echo "$SERVER_PID"; return; }
  for pid in $pids; do echo "$(ps -o rss= -p "$pid") $pid"; done | sort -n | tail -n1 | cut -d' ' -f2
}
# CPU time (user + system, clock ticks) a process has used: per request it shows the cost
# of an endpoint even when other work on the machine makes req/s noisy.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

declare -A RPS P50 P99 REQS ERRS LOAD CPU_US PACED_RPS PACED_P50 PACED_P99 PAUSE
# One wrk run (script, then wrk's other arguments and the URL); its RESULT fields in
# RESULT (rps p50_ms p99_ms requests), its requests and errors added to REQS and ERRS.
wrk_result() { # who endpoint script [wrk args...] url
  local who=$1 ep=$2 out line; shift 2
  out=$(taskset -c "$WRK_CPU" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --timeout "$TIMEOUT" -s "$@")
  line=$(grep '^RESULT' <<<"$out" || true)
  [ -n "$line" ] || { echo "$out" >&2; echo "wrk produced no RESULT for $who $ep" >&2; exit 5; }
  set -- $line
  RESULT=("${2#rps=}" "${3#p50_ms=}" "${4#p99_ms=}" "${5#requests=}")
  REQS[$who.$ep]=$(( ${REQS[$who.$ep]:-0} + ${5#requests=} ))
  ERRS[$who.$ep]=$(( ${ERRS[$who.$ep]:-0} + ${6#non2xx3xx=} + ${7#sock_errors=} ))
  RESULT_ERRORS="$6 $7"
}

wrk_run() { # who endpoint url script [wrk args...]
  local who=$1 ep=$2 url=$3 script=$4 before; shift 4
  before=$(cpu_ticks "$WORKER")
  wrk_result "$who" "$ep" "$script" "$@" "$url"
  RPS[$who.$ep]=${RESULT[0]}; P50[$who.$ep]=${RESULT[1]}; P99[$who.$ep]=${RESULT[2]}
  CPU_US[$who.$ep]=$(( ($(cpu_ticks "$WORKER") - before) * 1000000 / $(getconf CLK_TCK) / (RESULT[3] > 0 ? RESULT[3] : 1) ))
  printf '  %-10s %-13s %9s req/s  p50 %7s ms  p99 %7s ms  %5s us CPU/req  %s\n' "$who" "$ep" "${RPS[$who.$ep]}" \
    "${P50[$who.$ep]}" "${P99[$who.$ep]}" "${CPU_US[$who.$ep]}" "$RESULT_ERRORS" >&2
}

# The same endpoint at about half the peer's top rate (or Tunnus's own, with SKIP_PEER): each
# connection pauses between its requests (bench/paced.lua). At full load the latencies mostly
# measure the order in which queued requests are served; here they show the server's own
# spread (a garbage collection, a lock, a flush), which is what a p99 target is about.
paced_run() { # who endpoint url script [wrk args...]
  local who=$1 ep=$2 url=$3 script=$4; shift 4
  PAUSE[$ep]=$(python3 -c 'import sys; print(max(1, round(int(sys.argv[1]) / (float(sys.argv[2]) / 2) * 1000)))' \
    "$CONNS" "${RPS[peer.$ep]:-${RPS[$who.$ep]}}")
  WRK_SCRIPT=$script WRK_PAUSE_MS=${PAUSE[$ep]} wrk_result "$who" "$ep" "$ROOT/bench/paced.lua" "$@" "$url"
  PACED_RPS[$who.$ep]=${RESULT[0]}; PACED_P50[$who.$ep]=${RESULT[1]}; PACED_P99[$who.$ep]=${RESULT[2]}
  printf '  %-10s %-13s %9s req/s  p50 %7s ms  p99 %7s ms  (paced: %s ms pauses)  %s\n' "$who" "$ep" \
    "${PACED_RPS[$who.$ep]}" "${PACED_P50[$who.$ep]}" "${PACED_P99[$who.$ep]}" "${PAUSE[$ep]}" "$RESULT_ERRORS" >&2
}

measure() { # who base client_id secret
  local who=$1 base=$2 auth disco jwks token_url introspect_url token probe
  auth=$(basic_auth "$3" "$4")
  disco="$base/.well-known/openid-configuration"
  jwks=$(curl -fsS "$disco" | json_field jwks_uri)
  token_url=$(curl -fsS "$disco" | json_field token_endpoint)
  introspect_url=$(curl -fsS "$disco" | json_field introspection_endpoint)
  token=$(curl -fsS -H "Authorization: Basic $auth" -d grant_type=client_credentials "$token_url" | json_field access_token)
  probe=$(curl -fsS -H "Authorization: Basic $auth" -d "token=$token&token_type_hint=access_token" "$introspect_url")
  grep -q '"active": *true' <<<"$probe" || { echo "$who: introspection probe not active: $probe" >&2; exit 4; }
  LOAD[$who]=$(loadavg)
  for run in wrk_run paced_run; do
    $run "$who" discovery "$disco" "$WORK/peers/report.lua"
    $run "$who" jwks "$jwks" "$WORK/peers/report.lua"
    $run "$who" token_cc "$token_url" "$WORK/peers/token_post.lua" -H "Authorization: Basic $auth"
    WRK_INTROSPECT_TOKEN=$token $run "$who" introspection "$introspect_url" "$ROOT/bench/introspect.lua" \
      -H "Authorization: Basic $auth"
  done
  LOAD[$who]="${LOAD[$who]} -> $(loadavg)"
}

# The peer's harness (wrk reporters and the provider), copied: shared/ may be read-only.
mkdir -p "$WORK/peers"
if [ -d "$PEERS" ]; then cp -r "$PEERS/." "$WORK/peers/"; chmod -R u+w "$WORK/peers"; fi
[ -f "$WORK/peers/report.lua" ] || { echo "no report.lua in $PEERS" >&2; exit 3; }
export WRK_TOKEN_EXTRA=""
echo "wrk on cpu $WRK_CPU: $THREADS threads, $CONNS connections, $DURATION per endpoint; servers on cpu $SERVER_CPU" >&2

if [ -z "${SKIP_PEER:-}" ]; then
  echo "peer: node-oidc-provider (in-memory storage, opaque access tokens)" >&2
  (cd "$WORK/peers/node-oidc" && npm ci --no-audit --no-fund --silent >"$WORK/npm.log" 2>&1) \
    || { cat "$WORK/npm.log" >&2; exit 3; }
  (cd "$WORK/peers/node-oidc" && PORT=$PEER_PORT exec taskset -c "$SERVER_CPU" node server.mjs) >"$WORK/peer.log" 2>&1 &
  SERVER_PID=$!
  wait_for "http://127.0.0.1:$PEER_PORT/.well-known/openid-configuration" "$WORK/peer.log"
  WORKER=$(worker_pid)
  measure peer "http://127.0.0.1:$PEER_PORT" bench bench-secret
  stop_server
fi

# Tunnus: settings only through the environment, none inherited from the shell.
for name in $(env | grep -o '^IDP_[A-Z_]*' || true); do unset "$name"; done
export IDP_DATABASE_URL=$DATABASE_URL IDP_REDIS_URL=$REDIS_URL IDP_KEYS_DIR=$WORK/keys
export IDP_ISSUER="http://127.0.0.1:$TUNNUS_PORT"
IDP_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))'); export IDP_SECRET_KEY
# Limits still count every request (in Redis); set high so that they never refuse one.
export IDP_TOKEN_RATE_LIMIT="100000000 per minute" IDP_TOKEN_CLIENT_RATE_LIMIT="100000000 per minute"
export PROMETHEUS_MULTIPROC_DIR=$WORK/metrics; mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
export TUNNUS_BIND="127.0.0.1:$TUNNUS_PORT" TUNNUS_WORKERS=1
cd "$ROOT"
"$BIN/python" -c 'import sys; from bench.scratch_database import recreate; recreate(sys.argv[1])' "$DATABASE_URL"
"$BIN/tunnus" db upgrade >"$WORK/setup.log" 2>&1 || { cat "$WORK/setup.log" >&2; exit 4; }
"$BIN/tunnus" keys rotate --json >>"$WORK/setup.log"
CLIENT=$("$BIN/tunnus" clients create --name "Benchmark" --grant-type client_credentials --json)
CLIENT_ID=$(json_field client_id <<<"$CLIENT"); CLIENT_SECRET=$(json_field client_secret <<<"$CLIENT")

# granian: the production server with its production settings (serve.py); gunicorn for comparison.
gunicorn=("$BIN/gunicorn" --workers 1 --bind "$TUNNUS_BIND" --graceful-timeout 5)
case "$SERVER" in
  granian) command=("$BIN/python" serve.py) ;;
  gunicorn-sync) command=("${gunicorn[@]}" -k sync wsgi:app) ;;
  gunicorn-gthread) command=("${gunicorn[@]}" -k gthread --threads "${TUNNUS_THREADS:-4}" wsgi:app) ;;
  *) echo "unknown SERVER=$SERVER" >&2; exit 2 ;;
esac
[ -x "${command[0]}" ] || { echo "${command[0]} not found (for gunicorn: $BIN/pip install gunicorn)" >&2; exit 3; }
echo "tunnus: $SERVER, 1 worker, PostgreSQL + Redis ($DATABASE_URL, $REDIS_URL)" >&2
taskset -c "$SERVER_CPU" "${command[@]}" >"$WORK/tunnus.log" 2>&1 &
SERVER_PID=$!
wait_for "$IDP_ISSUER/.well-known/openid-configuration" "$WORK/tunnus.log"
WORKER=$(worker_pid)
# What the worker runs with, as the figures depend on it (README, Performance).
SETUP="TUNNUS_THREADS=${TUNNUS_THREADS:-4}, $(chrt -p "$WORKER" | sed -n 's/.*policy: //p')"
measure tunnus "$IDP_ISSUER" "$CLIENT_ID" "$CLIENT_SECRET"

served=0; for ep in "${ENDPOINTS[@]}"; do served=$(( served + ${REQS[tunnus.$ep]} )); done
while [ "$served" -lt "$RSS_AFTER" ]; do
  before=${REQS[tunnus.token_cc]}
  wrk_run tunnus token_cc "$IDP_ISSUER/token" "$WORK/peers/token_post.lua" \
    -H "Authorization: Basic $(basic_auth "$CLIENT_ID" "$CLIENT_SECRET")" 2>/dev/null
  served=$(( served + ${REQS[tunnus.token_cc]} - before ))
done
rss_kb=$(ps -o rss= -p "$WORKER")
stop_server
grep -iE "error|traceback" "$WORK/tunnus.log" | head -n 5 >&2 || true

ratio() { python3 -c 'import sys; a,b=sys.argv[1:]; print(f"{float(a)/float(b):.2f}" if b not in ("", "0") else "-")' "$1" "$2"; }
echo
echo "Tunnus ($SERVER, 1 worker on cpu $SERVER_CPU: $SETUP; PostgreSQL + Redis) vs node-oidc-provider; wrk $THREADS threads, $CONNS conns, $DURATION"
printf '%-14s %10s %10s %6s %8s %8s %7s %6s %12s %12s %9s\n' endpoint "peer r/s" "tunnus r/s" ratio \
  "p50 ms" "p99 ms" p99/p50 errors "peer CPU us" "tunnus CPU us" "CPU ratio"
for ep in "${ENDPOINTS[@]}"; do
  peer=${RPS[peer.$ep]:-}
  printf '%-14s %10s %10s %6s %8s %8s %7s %6s %12s %12s %9s\n' "$ep" "${peer:--}" "${RPS[tunnus.$ep]}" \
    "$( [ -n "$peer" ] && ratio "${RPS[tunnus.$ep]}" "$peer" || echo -)" "${P50[tunnus.$ep]}" "${P99[tunnus.$ep]}" \
    "$(ratio "${P99[tunnus.$ep]}" "${P50[tunnus.$ep]}")" "${ERRS[tunnus.$ep]}" "${CPU_US[peer.$ep]:--}" \
    "${CPU_US[tunnus.$ep]}" "$( [ -n "$peer" ] && ratio "${CPU_US[peer.$ep]}" "${CPU_US[tunnus.$ep]}" || echo -)"
done
echo
echo "Below full load: each connection pausing between its requests (bench/paced.lua), about half the peer's top rate"
printf '%-14s %8s %10s %8s %8s %7s %10s %8s %8s %7s\n' endpoint "pause ms" "peer r/s" "p50 ms" "p99 ms" p99/p50 \
  "tunnus r/s" "p50 ms" "p99 ms" p99/p50
for ep in "${ENDPOINTS[@]}"; do
  printf '%-14s %8s %10s %8s %8s %7s %10s %8s %8s %7s\n' "$ep" "${PAUSE[$ep]}" "${PACED_RPS[peer.$ep]:--}" \
    "${PACED_P50[peer.$ep]:--}" "${PACED_P99[peer.$ep]:--}" \
    "$( [ -n "${PACED_P50[peer.$ep]:-}" ] && ratio "${PACED_P99[peer.$ep]}" "${PACED_P50[peer.$ep]}" || echo -)" \
    "${PACED_RPS[tunnus.$ep]}" "${PACED_P50[tunnus.$ep]}" "${PACED_P99[tunnus.$ep]}" \
    "$(ratio "${PACED_P99[tunnus.$ep]}" "${PACED_P50[tunnus.$ep]}")"
done
echo
echo "ratio: Tunnus req/s / peer req/s. CPU us: the server process's CPU time per request (user + system),"
echo "steady even when other work on the machine makes req/s noisy; CPU ratio: peer / Tunnus (>= 1: Tunnus cheaper)."
echo "tunnus worker RSS after $served requests: $(( rss_kb / 1024 )) MB"
[ -n "${SKIP_PEER:-}" ] || echo "load average (1/5/15 min) peer run: ${LOAD[peer]}"
echo "load average (1/5/15 min) tunnus run: ${LOAD[tunnus]}"
echo "access tokens: peer opaque, kept in memory; tunnus JWT (RFC 9068), see README 'Performance'"
