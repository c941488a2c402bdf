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

step "WAL archiving: base backup, a restore point, more changes, WAL archived"
wait_archived
# -X none: the backup is consistent only with WAL from the archive, so the
# recovery below replays through dbops_archive wal-fetch alone.
mkdir -m 700 "$work/restore" && chown postgres: "$work/restore" 2>/dev/null || true
as_postgres "$PG_BINDIR/pg_basebackup" -D "$work/restore" -X none -c fast
sql -c "INSERT INTO orders (customer_id, total) VALUES (2, 40)" \
	-c "SELECT pg_create_restore_point('demo_before_mistake')" >/dev/null
before=$(sql -Atc 'SELECT count(*) FROM orders')
sql -c "DELETE FROM orders" >/dev/null
wait_archived
echo "archived up to $(sql -Atc 'SELECT last_archived_wal FROM pg_stat_archiver'); the repository holds:"
(cd "$work/repo" && find wal -type f | sort | sed 's/^/  /')

step "point-in-time recovery to 'demo_before_mistake' through dbops_archive wal-fetch"
rport=$(free_port)
cat >>"$work/restore/postgresql.conf" <<CONF
port = $rport
archive_mode = off
restore_command = 'DBOPS_ARCHIVE_REPO=$repo $archive wal-fetch %f %p'
recovery_target_name = 'demo_before_mistake'
recovery_target_action = 'promote'
CONF
touch "$work/restore/recovery.signal"
as_postgres "$PG_BINDIR/pg_ctl" -D "$work/restore" -l "$work/pg/restore.log" -w start >/dev/null
for _ in $(seq 1 100); do
	[ "$(sql -p "$rport" -Atc 'SELECT pg_is_in_recovery()')" = f ] && break
	sleep 0.1
done
echo "orders on the primary after the mistake: $(sql -Atc 'SELECT count(*) FROM orders')"
recovered=$(sql -p "$rport" -Atc 'SELECT count(*) FROM orders')
echo "orders at the restore point: $before; on the recovered copy: $recovered"
as_postgres "$PG_BINDIR/pg_ctl" -D "$work/restore" -m fast -w stop >/dev/null
[ "$(grep -c 'recovery stopping before\|restored log file' "$work/pg/restore.log")" -gt 0 ] &&
	grep -E 'restored log file|recovery stopping|selected new timeline' "$work/pg/restore.log" | sed 's/^.*LOG: */  /'
if [ "$recovered" != "$before" ]; then
	echo "point-in-time recovery check failed" >&2
	exit 1
fi

step "demo finished"
