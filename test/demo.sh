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
	[ -f "$work/restore/postmaster.pid" ] &&
		as_postgres "$PG_BINDIR/pg_ctl" -D "$work/restore" -m fast -w stop >/dev/null
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
# the restore target and restore-check's scratch space belong to postgres
mkdir -m 700 "$work/restore" "$work/scratch"
chown postgres: "$work/restore" "$work/scratch" 2>/dev/null || true
arch() { as_postgres env DBOPS_ARCHIVE_REPO="$repo" TMPDIR="$work/scratch" "$archive" "$@"; }
arch backup-push --dbname="host=$PGHOST port=$PGPORT user=postgres dbname=postgres" --json

step "more writes, then a mistake: the moment before it is the recovery target"
sql -c "INSERT INTO orders (customer_id, total) VALUES (2, 40)" >/dev/null
before=$(sql -Atc 'SELECT count(*) FROM orders')
target=$(sql -Atc 'SELECT clock_timestamp()')
sql -c "DELETE FROM orders" >/dev/null
echo "orders before the mistake: $before; target time: $target; after the mistake: $(sql -Atc 'SELECT count(*) FROM orders')"
wait_archived
arch backup-list

step "point-in-time recovery into a second cluster: backup-fetch LATEST --target-time"
arch backup-fetch LATEST "$work/restore" --target-time="$target" --target-action=promote --json
rport=$(free_port)
echo "port = $rport" >>"$work/restore/postgresql.conf"
grep -E "^(restore_command|archive_mode|recovery_target_time|recovery_target_action) " "$work/restore/postgresql.auto.conf" | sed 's/^/  /'
as_postgres "$PG_BINDIR/pg_ctl" -D "$work/restore" -l "$work/pg/restore.log" -w start >/dev/null
for _ in $(seq 1 300); do
	[ "$(sql -p "$rport" -Atc 'SELECT pg_is_in_recovery()')" = f ] && break
	sleep 0.1
done
grep -E 'restored log file|recovery stopping|selected new timeline' "$work/pg/restore.log" | sed 's/^.*LOG: */  /'
recovered=$(sql -p "$rport" -Atc 'SELECT count(*) FROM orders')
echo "orders at the target: $before; on the recovered copy: $recovered"
as_postgres "$PG_BINDIR/pg_ctl" -D "$work/restore" -m fast -w stop >/dev/null
if [ "$recovered" != "$before" ]; then
	echo "point-in-time recovery check failed" >&2
	exit 1
fi

step "restore-check: restore the latest backup, recover it on a throwaway server, pg_amcheck, remove"
arch restore-check

step "demo finished"
