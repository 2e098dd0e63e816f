#!/usr/bin/env bash
# Production layout on one host (or several, pointing at the same server):
#   Prefect server backed by PostgreSQL (its own database, not ipfund's), a process work pool,
#   deployments from prefect.yaml, and N workers. ipfund's own database is PostgreSQL too.
#
#   scripts/scale-out.sh start [WORKERS]   start server, pool, deployments and workers
#   scripts/scale-out.sh stop              stop them
#   scripts/scale-out.sh status
#
# Environment (defaults shown):
#   PG=postgresql://postgres@127.0.0.1:5432         the PostgreSQL server
#   PREFECT_DB=prefect                              Prefect's own database
#   IPFUND_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/ipfund
#   PREFECT_PORT=4200  RUN_DIR=.scale-out
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
PG=${PG:-postgresql://postgres@127.0.0.1:5432}
PREFECT_DB=${PREFECT_DB:-prefect}
PREFECT_PORT=${PREFECT_PORT:-4200}
RUN_DIR=${RUN_DIR:-.scale-out}
export IPFUND_DATABASE_URL=${IPFUND_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/ipfund}
export PREFECT_HOME=${PREFECT_HOME:-$PWD/$RUN_DIR/prefect-home}
export PREFECT_API_URL="http://127.0.0.1:${PREFECT_PORT}/api"
export PREFECT_SERVER_ANALYTICS_ENABLED=false
mkdir -p "$RUN_DIR"

create_db() {  # create database $1 on $PG if missing
  "$BIN/python" - "$PG" "$1" <<'PY'
import sys, psycopg
url, name = sys.argv[1], sys.argv[2]
with psycopg.connect(url + "/postgres", autocommit=True) as c:
    if not c.execute("SELECT 1 FROM pg_database WHERE datname=%s", (name,)).fetchone():
        c.execute(f'CREATE DATABASE "{name}"')
PY
}

case "${1:-}" in
  start)
    workers=${2:-2}
    create_db "$PREFECT_DB"
    PREFECT_API_DATABASE_CONNECTION_URL="postgresql+asyncpg://${PG#postgresql://}/${PREFECT_DB}" \
      nohup "$BIN/prefect" server start --host 127.0.0.1 --port "$PREFECT_PORT" > "$RUN_DIR/server.log" 2>&1 &
    echo $! > "$RUN_DIR/server.pid"
    for _ in $(seq 1 120); do
      curl -fsS "$PREFECT_API_URL/health" >/dev/null 2>&1 && break; sleep 1
    done
    curl -fsS "$PREFECT_API_URL/health" >/dev/null || { echo "server did not start; see $RUN_DIR/server.log"; exit 1; }
    "$BIN/prefect" work-pool inspect ipfund-pool >/dev/null 2>&1 || "$BIN/prefect" work-pool create ipfund-pool --type process
    "$BIN/prefect" --no-prompt deploy --all
    for i in $(seq 1 "$workers"); do
      nohup "$BIN/prefect" worker start --pool ipfund-pool --name "ipfund-worker-$i" > "$RUN_DIR/worker-$i.log" 2>&1 &
      echo $! > "$RUN_DIR/worker-$i.pid"
    done
    echo "Prefect UI/API: $PREFECT_API_URL  (workers: $workers, logs in $RUN_DIR/)"
    ;;
  stop)
    for f in "$RUN_DIR"/worker-*.pid "$RUN_DIR"/server.pid; do
      [ -f "$f" ] && { kill "$(cat "$f")" 2>/dev/null || true; rm -f "$f"; }
    done
    echo stopped
    ;;
  status)
    curl -fsS "$PREFECT_API_URL/health" && echo " server up" || echo "server down"
    "$BIN/prefect" work-pool inspect ipfund-pool 2>/dev/null | head -20 || true
    ;;
  *) echo "usage: $0 start [WORKERS] | stop | status"; exit 2 ;;
esac
