#!/bin/bash
# test/demo.sh: `make demo`.  Installs what is missing, builds and installs
# dbops, starts a throwaway cluster and runs the main job end to end on it,
# printing each step.  Leaves nothing running.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
bash test/bootstrap.sh demo
make -s >/dev/null
if [ "$(id -u)" = 0 ]; then make -s install >/dev/null; fi

. test/lib/cluster.sh
work=$(mktemp -d /tmp/dbops-demo.XXXXXX)
chmod 755 "$work"
trap 'cluster_stop "$work/pg"; rm -rf "$work"' EXIT

step() { printf '\n== %s\n' "$*"; }
sql() { as_postgres psql -X -v ON_ERROR_STOP=1 -q "$@"; }

step "starting a throwaway cluster"
cluster_start "$work/pg" "shared_preload_libraries = 'dbops'"
echo "PostgreSQL $(sql -Atc 'SHOW server_version') on port $PGPORT"

step "CREATE EXTENSION dbops"
sql -c 'CREATE EXTENSION dbops' -c 'SELECT dbops.version()'

# The directory form reads files on the server, as the postgres OS user.
step "apply the migrations in test/demo_migrations (Hasura layout: <version>_<name>/up.sql, down.sql)"
cp -r test/demo_migrations "$work/migrations"
chmod -R a+rX "$work/migrations"
sql -c "SELECT version, name, action FROM dbops.apply_migrations('$work/migrations')"

step "dbops.migration_status"
status="SELECT version, name, state FROM dbops.migration_status('$work/migrations')"
sql -c "$status"

step "roll back the latest migration, with the down SQL stored when it was applied"
sql -c "SELECT version, name, action FROM dbops.rollback_migrations(steps => 1)"
sql -c "$status" -c "SELECT to_regclass('public.customer_totals') IS NULL AS \"view customer_totals is gone\""

step "demo finished"
