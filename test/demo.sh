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
# Commands run as postgres, who may not enter the checkout (a clone under
# /root is private): work from the demo's own directory.
cd "$work"
stop_all() {
	local dir
	for dir in "$work"/restore*; do
		[ -f "$dir/postmaster.pid" ] &&
			as_postgres "$PG_BINDIR/pg_ctl" -D "$dir" -m fast -w stop >/dev/null
	done
	cluster_stop "$work/pg"
	rm -rf "$work"
}
trap stop_all EXIT
trap "exit 1" INT TERM

step() { printf '\n== %s\n' "$*"; }
sql() { as_postgres psql -X -v ON_ERROR_STOP=1 -q "$@"; }

# WAL goes to a local-directory repository through dbops_archive from the
# start, so the point-in-time recovery at the end can replay all of it.
archive=$(pg_config --bindir)/dbops_archive
repo=file://$work/repo
mkdir -p "$work/repo"
chown postgres: "$work/repo" 2>/dev/null || true

step "starting a throwaway cluster, archiving WAL to $repo"
cluster_start "$work/pg" "shared_preload_libraries = 'dbops'" "wal_level = replica" \
	"archive_mode = on" "archive_command = 'DBOPS_ARCHIVE_REPO=$repo $archive wal-push %p'"
echo "PostgreSQL $(sql -Atc 'SHOW server_version') on port $PGPORT"

step "CREATE EXTENSION dbops"
sql -c 'CREATE EXTENSION dbops' -c 'SELECT dbops.version()'

# The directory form reads files on the server, as the postgres OS user.
step "apply the migrations in test/demo_migrations (Hasura layout: <version>_<name>/up.sql, down.sql)"
cp -r "$src/test/demo_migrations" "$work/migrations"
chmod -R a+rX "$work/migrations"
sql -c "SELECT version, name, action FROM dbops.apply_migrations('$work/migrations')"

step "dbops.migration_status"
status="SELECT version, name, state FROM dbops.migration_status('$work/migrations')"
sql -c "$status"

step "roll back the latest migration, with the down SQL stored when it was applied"
sql -c "SELECT version, name, action FROM dbops.rollback_migrations(steps => 1)"
sql -c "$status" -c "SELECT to_regclass('public.customer_totals') IS NULL AS \"view customer_totals is gone\""

step "metadata: track orders, let role demo_customer see only its own rows"
sql -o /dev/null <<'SQL'
CREATE ROLE demo_customer;
INSERT INTO customers (name, email) VALUES ('ada', 'ada@example.com'), ('grace', 'grace@example.com');
INSERT INTO orders (customer_id, total) VALUES (1, 10), (1, 20), (2, 30);
SELECT dbops.track_table('orders');
SELECT dbops.create_permission('orders', 'demo_customer', 'select',
	columns => '{id,customer_id,total}',
	filter => $$customer_id = current_setting('request.customer_id', true)::int$$);
SQL
sql <<'SQL'
BEGIN;
SET LOCAL ROLE demo_customer;
SET LOCAL request.customer_id = '1';
SELECT id, customer_id, total FROM orders ORDER BY id;
COMMIT;
SQL

step "metadata: export, reset, import, export again (git-friendly: byte-identical)"
sql -Atc 'SELECT jsonb_pretty(dbops.export_metadata())' >"$work/metadata.json"
cat "$work/metadata.json"
sql -o /dev/null -c 'SELECT dbops.reset_metadata()'
sql -c "SELECT count(*) AS policies_after_reset FROM pg_policies WHERE tablename = 'orders'"
echo "SELECT dbops.import_metadata(:'doc')" | sql -o /dev/null -v doc="$(cat "$work/metadata.json")"
sql -Atc 'SELECT jsonb_pretty(dbops.export_metadata())' >"$work/metadata2.json"
cmp "$work/metadata.json" "$work/metadata2.json" && echo "re-exported metadata is byte-identical"

# Wait until the segment holding the current position is archived; stop
# with the server's log if archive_command fails instead.
wait_archived() {
	local last done_wal failed
	last=$(sql -Atc "SELECT pg_walfile_name(pg_current_wal_lsn())")
	sql -Atc "SELECT pg_switch_wal()" >/dev/null
	for _ in $(seq 1 300); do
		done_wal=$(sql -Atc "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
		[[ "$done_wal" < "$last" ]] || return 0
		failed=$(sql -Atc "SELECT failed_count FROM pg_stat_archiver")
		if [ "$failed" -gt 0 ]; then
			echo "archive_command failed:" >&2
			grep -A2 'archive command failed' "$work/pg/server.log" | tail -n 6 >&2
			return 1
		fi
		sleep 0.1
	done
	echo "WAL $last not archived after 30 s" >&2
	return 1
}

step "base backup: dbops_archive backup-push (streamed to $repo, verified on restore)"
wait_archived
# restore targets and restore-check's scratch space belong to postgres
mkdir -m 700 "$work/scratch"
chown postgres: "$work/scratch" 2>/dev/null || true
arch() { as_postgres env DBOPS_ARCHIVE_REPO="$repo" TMPDIR="$work/scratch" "$archive" "$@"; }
conninfo="host=$PGHOST port=$PGPORT user=postgres dbname=postgres"
arch backup-push --dbname="$conninfo" --json

# Restore the latest backup into a new cluster DIR with the target options
# given, start it on a free port (rport) and wait until recovery has reached
# the target and the copy is promoted; show what recovery did.
restore_start() {
	local dir=$1; shift
	mkdir -m 700 "$dir"
	chown postgres: "$dir" 2>/dev/null || true
	arch backup-fetch LATEST "$dir" "$@" --target-action=promote --json
	rport=$(free_port)
	echo "port = $rport" >>"$dir/postgresql.conf"
	grep -E "^(restore_command|archive_mode|recovery_target_[a-z]+) = '.+'" "$dir/postgresql.auto.conf" |
		grep -v "recovery_target_timeline" | sed 's/^/  /'
	as_postgres "$PG_BINDIR/pg_ctl" -D "$dir" -l "$work/pg/$(basename "$dir").log" -w start >/dev/null
	for _ in $(seq 1 300); do
		[ "$(sql -p "$rport" -Atc 'SELECT pg_is_in_recovery()')" = f ] && break
		sleep 0.1
	done
	grep -E 'restored log file|recovery stopping|selected new timeline' "$work/pg/$(basename "$dir").log" |
		sed 's/^.*LOG: */  /'
}
compare() { # what, expected, got
	echo "$1 at the target: $2; on the recovered copy: $3"
	[ "$2" = "$3" ] || { echo "point-in-time recovery check failed: $1 differ" >&2; exit 1; }
}

step "more writes, then a mistake: the moment before it is the recovery target"
sql -c "INSERT INTO orders (customer_id, total) VALUES (2, 40)" >/dev/null
before=$(sql -Atc 'SELECT count(*) FROM orders')
target=$(sql -Atc 'SELECT clock_timestamp()')
sql -c "DELETE FROM orders" >/dev/null
echo "orders before the mistake: $before; target time: $target; after the mistake: $(sql -Atc 'SELECT count(*) FROM orders')"
wait_archived
arch backup-list

step "point-in-time recovery into a second cluster: backup-fetch LATEST --target-time"
restore_start "$work/restore_time" --target-time="$target"
compare orders "$before" "$(sql -p "$rport" -Atc 'SELECT count(*) FROM orders')"
as_postgres "$PG_BINDIR/pg_ctl" -D "$work/restore_time" -m fast -w stop >/dev/null

# With archiving on, apply_migrations writes a restore point dbops:<version>
# before each migration and records its LSN in dbops.schema_migrations.
step "a migration that loses data (drops customers.email), after more writes"
version=1700001440000
sql -c "INSERT INTO customers (name, email) VALUES ('edsger', 'edsger@example.com')" >/dev/null
customers="SELECT string_agg(concat_ws(' ', id, name, email), ', ' ORDER BY id) FROM customers"
before=$(sql -Atc "$customers")
echo "customers before the migration: $before"
echo "SELECT version, name, action, restore_lsn FROM dbops.apply_migrations(:'doc'::jsonb)" | sql -v doc="[{
	\"version\": \"$version\", \"name\": \"drop_customer_email\",
	\"up\": \"ALTER TABLE customers DROP COLUMN email\",
	\"down\": \"ALTER TABLE customers ADD COLUMN email text\"}]"
sql -c "SELECT version, restore_point, restore_lsn FROM dbops.schema_migrations WHERE version = '$version'"
echo "customers after the migration: $(sql -Atc "SELECT string_agg(concat_ws(' ', id, name), ', ' ORDER BY id) FROM customers") (no email column)"
wait_archived

step "restore to just before that migration into a second cluster: backup-fetch --target-migration"
restore_start "$work/restore_migration" --target-migration="$version" --dbname="$conninfo"
compare customers "$before" "$(sql -p "$rport" -Atc "$customers")"
echo "migrations on the copy: $(sql -p "$rport" -Atc "SELECT string_agg(version, ' ' ORDER BY version) FROM dbops.schema_migrations")"
as_postgres "$PG_BINDIR/pg_ctl" -D "$work/restore_migration" -m fast -w stop >/dev/null

step "restore-check: restore the latest backup, recover it on a throwaway server, pg_amcheck, remove"
arch restore-check

step "demo finished"
