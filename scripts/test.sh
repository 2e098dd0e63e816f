#!/usr/bin/env bash
# The test command (`make test`): the whole suite on SQLite, then again on PostgreSQL when a server
# answers (IPFUND_TEST_DATABASE_URL, default the local `test` database). CI always has PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
export PREFECT_HOME=${PREFECT_HOME:-$(mktemp -d)}
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=90
export PREFECT_LOGGING_LEVEL=WARNING
PG_URL=${IPFUND_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}
unset IPFUND_TEST_DATABASE_URL IPFUND_DATABASE_URL IPFUND_USER IPFUND_NOW

echo "== test suite on SQLite =="
"$BIN/pytest" "$@"

if "$BIN/python" - "$PG_URL" <<'PY'
import sys, psycopg
url = sys.argv[1].replace("postgresql+psycopg://", "postgresql://")
try:
    psycopg.connect(url, connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL not reachable at {url}: {exc}")
    sys.exit(1)
PY
then
  echo "== test suite on PostgreSQL ($PG_URL) =="
  IPFUND_TEST_DATABASE_URL="$PG_URL" "$BIN/pytest" "$@"
elif [ "${CI:-}" = "true" ]; then
  echo "CI needs PostgreSQL for the second pass" >&2; exit 1
else
  echo "(skipping the PostgreSQL pass; start PostgreSQL or set IPFUND_TEST_DATABASE_URL to run it)"
fi
