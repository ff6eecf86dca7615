#!/usr/bin/env bash
# Run a command beside a throwaway PostgreSQL 15 cluster (Debian's binaries, as the `postgres`
# user, in a scratch folder, on a spare port), with CHAINLIFT_TEST_DATABASE_URL naming its admin
# database: each test creates a database of its own there. The cluster is stopped and removed
# when the command ends, however it ends.
set -euo pipefail
bin=/usr/lib/postgresql/15/bin
[ -x "$bin/initdb" ] || bin=$(dirname "$(command -v initdb)")
scratch=$(mktemp -d)
chown postgres "$scratch"
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
stop() {
  as_postgres "$bin/pg_ctl" -D "$scratch/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$scratch"
}
trap stop EXIT
as_postgres "$bin/initdb" -D "$scratch/data" -A trust -U postgres >/dev/null
# Tests create many small databases: fsync off (a throwaway cluster), enough connections for
# several serve replicas and the tests' pools at once.
# A port below the kernel's ephemeral range (32768 and up here), so no client connection holds
# it; another cluster's port taken meanwhile: the next one.
started=""
for attempt in 1 2 3 4 5; do
  port=${CHAINLIFT_TEST_PG_PORT:-$((20000 + RANDOM % 10000))}
  if as_postgres "$bin/pg_ctl" -D "$scratch/data" -l "$scratch/log" -w \
    -o "-k $scratch -p $port -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" \
    start >/dev/null; then
    started=1
    break
  fi
done
[ -n "$started" ] || { echo "with-postgres: PostgreSQL did not start:" >&2; cat "$scratch/log" >&2; exit 1; }
export CHAINLIFT_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
"$@"
