#!/bin/bash
# test/bench/backup.sh: base backup and restore of a pgbench database of
# about 1 GB (scale 70) to a file repository and to Ceph RGW (S3, TLS),
# side by side, one run each:
#   dbops_archive backup-push / backup-fetch
#   pgbackrest backup / restore (compress-type=zst, process-max=2)
#   pg_basebackup -Ft -Z zstd (restore: zstd -d | tar -x)
# then an incremental after 5% of the rows changed (a contiguous 5% of
# pgbench_accounts, so most of its pages and every other file stay
# untouched): dbops --incremental and pgbackrest --type=incr, then again
# with dbops --incremental --checksum-delta.
# Reports wall time, CPU time (user + system of the tool's processes and of
# the server's: the server reads the files for pg_basebackup, and on a busy
# database server CPU is what a backup competes for) and repository size,
# with ratios to pgbackrest.  Never fails on a slow result.
#
# Run as root (the cluster runs as postgres).  Environment: SCALE=70,
# KEEP=1 keeps the work directory, RGW=0 leaves RGW out.
set -euo pipefail

SCALE=${SCALE:-70}
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/lib/cluster.sh"
ARCH=${DBOPS_ARCHIVE_BIN:-$(command -v dbops_archive || echo "$PG_BINDIR/dbops_archive")}
[ "$(id -u)" = 0 ] || { echo "backup benchmark: run as root" >&2; exit 1; }
for b in pgbackrest zstd "$ARCH" "$PG_BINDIR/pgbench" "$PG_BINDIR/pg_basebackup"; do
	command -v "$b" >/dev/null || { echo "backup benchmark: missing $b" >&2; exit 1; }
done

W=$(mktemp -d "${TMPDIR:-/tmp}/dbops-bench-backup.XXXXXX")
chmod 755 "$W"
cleanup() {
	cluster_stop "$W/pg"
	[ -d "$W/rgw" ] && bash "$here/lib/object_stores.sh" stop "$W/rgw"
	[ -n "${KEEP:-}" ] && { echo "(kept $W)"; return; }
	rm -rf "$W"
}
trap cleanup EXIT
mkdir -p "$W"/{repo-dbops,repo-pgbr,log,lock,basebackup,restore}
chown -R postgres: "$W"
export DBOPS_ARCHIVE_REPO=file://$W/repo-dbops DBOPS_ARCHIVE_ARCHIVE_TIMEOUT=600

cat >"$W/pgbr.conf" <<CONF
[global]
repo1-path=$W/repo-pgbr
repo1-retention-full=9
compress-type=zst
process-max=2
log-path=$W/log
lock-path=$W/lock
log-level-console=warn
log-level-file=off
start-fast=y
archive-timeout=600
[bench]
pg1-path=$W/pg/data
CONF
chown postgres: "$W/pgbr.conf"

# RGW with TLS (pgbackrest's S3 needs it): a second repository for each
s3=no
if [ "${RGW:-1}" = 1 ] && command -v radosgw >/dev/null; then
	echo "== starting Ceph RGW"
	rgw=$(bash "$here/lib/object_stores.sh" rgw-start "$W/rgw" --tls dbops pgbr) ||
		{ echo "$rgw" >&2; exit 1; }
	rgw_get() { echo "$rgw" | sed -n "s/^$1=//p"; }
	chmod 755 "$W/rgw" "$W/rgw/tls"
	# the secret in a config file of mode 0600: backup-fetch names it in restore_command
	printf 's3-secret-access-key = %s\ns3-access-key-id = %s\ns3-endpoint = %s\ns3-ca-file = %s\nrepo = s3://dbops/bench\n' \
		"$(rgw_get secret_key)" "$(rgw_get access_key)" "$(rgw_get tls_endpoint)" "$(rgw_get ca_file)" >"$W/s3.conf"
	chown postgres: "$W/s3.conf"
	chmod 600 "$W/s3.conf"
	# repo2 goes before the stanza section
	sed -i "/^\[bench\]/i repo2-type=s3\nrepo2-path=/bench\nrepo2-retention-full=9\nrepo2-s3-bucket=pgbr\nrepo2-s3-endpoint=localhost\nrepo2-storage-port=$(rgw_get tls_endpoint | sed 's/.*://')\nrepo2-s3-region=us-east-1\nrepo2-s3-uri-style=path\nrepo2-s3-key=$(rgw_get access_key)\nrepo2-s3-key-secret=$(rgw_get secret_key)\nrepo2-storage-ca-file=$(rgw_get ca_file)" "$W/pgbr.conf"
	chmod 600 "$W/pgbr.conf"
	s3=yes
fi
s3_push=""
# the environment wins over the config file: the CA goes there too, in
# case the machine sets AWS_CA_BUNDLE
[ $s3 = yes ] && s3_push=" && AWS_CA_BUNDLE=$(rgw_get ca_file) DBOPS_ARCHIVE_CONFIG=$W/s3.conf DBOPS_ARCHIVE_REPO= $ARCH wal-push %p"

echo "== pgbench scale $SCALE on a throwaway cluster, archiving to both repositories"
cluster_start "$W/pg" "archive_mode = on" "max_wal_size = 4GB" \
	"archive_command = 'DBOPS_ARCHIVE_REPO=file://$W/repo-dbops $ARCH wal-push %p$s3_push && pgbackrest --config=$W/pgbr.conf --stanza=bench archive-push %p'"
cat >>"$W/pgbr.conf" <<CONF
pg1-port=$PGPORT
pg1-socket-path=$W/pg
CONF
as_postgres pgbackrest --config="$W/pgbr.conf" --stanza=bench stanza-create >"$W/log/stanza.log" 2>&1
as_postgres "$PG_BINDIR/pgbench" -i -s "$SCALE" -q postgres >"$W/log/pgbench.log" 2>&1
as_postgres psql -qXc 'CHECKPOINT' postgres
# let the archiver catch up (every segment goes to each repository), so
# the timed backups wait only for their own WAL
wait_archived() {
	local last
	last=$(as_postgres psql -XAtc 'SELECT pg_walfile_name(pg_current_wal_lsn())' postgres)
	as_postgres psql -XAtc 'SELECT pg_switch_wal()' postgres >/dev/null
	until [ "$(as_postgres psql -XAtc "SELECT last_archived_wal >= '$last' FROM pg_stat_archiver" postgres)" = t ]; do
		sleep 1
	done
}
wait_archived
postmaster=$(head -1 "$W/pg/data/postmaster.pid")
echo "database: $(as_postgres psql -XAtc "SELECT pg_size_pretty(pg_database_size('postgres'))" postgres)"

# CPU seconds of the server so far: the postmaster, what it reaped, and
# its live children (utime + stime + cutime + cstime, in clock ticks)
server_cpu() {
	local tck total=0 pid f
	tck=$(getconf CLK_TCK)
	read -ra f <"/proc/$postmaster/stat"
	total=$((f[13] + f[14] + f[15] + f[16]))
	for pid in $(pgrep -P "$postmaster"); do
		read -ra f <"/proc/$pid/stat" 2>/dev/null || continue
		total=$((total + f[13] + f[14]))
	done
	awk -v t="$total" -v h="$tck" 'BEGIN {printf "%.2f", t / h}'
}

declare -A wall cpu size
# One case: name, command (as postgres); its wall time, and the CPU of its
# processes (GNU time, children included) plus the server's during it.
run_case() {
	local name=$1 cmd=$2 t0 t1 s0 s1
	sync
	s0=$(server_cpu)
	t0=$(date +%s%N)
	as_postgres /usr/bin/time -f '%U %S' -o "$W/cpu" bash -c "$cmd" >"$W/log/$name.log" 2>&1 ||
		{ echo "case $name failed:"; tail -20 "$W/log/$name.log"; exit 1; }
	t1=$(date +%s%N)
	s1=$(server_cpu)
	wall[$name]=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", (b - a) / 1e9}')
	cpu[$name]=$(awk -v s0="$s0" -v s1="$s1" '{printf "%.2f", $1 + $2 + s1 - s0}' "$W/cpu")
	echo "$name: ${wall[$name]} s wall, ${cpu[$name]} s CPU"
}
dirsize() { du -sb "$1" | cut -f1; }

run_case dbops_backup "$ARCH backup-push"
size[dbops_backup]=$(dirsize "$W/repo-dbops/backup")
run_case pgbr_backup "pgbackrest --config=$W/pgbr.conf --stanza=bench --repo=1 backup --type=full"
size[pgbr_backup]=$(dirsize "$W/repo-pgbr/backup")
run_case basebackup "$PG_BINDIR/pg_basebackup -D $W/basebackup -Ft -Z zstd -X none -c fast"
size[basebackup]=$(dirsize "$W/basebackup")

run_case dbops_restore "$ARCH backup-fetch LATEST $W/restore/dbops"
run_case pgbr_restore "pgbackrest --config=$W/pgbr.conf --stanza=bench --repo=1 restore --pg1-path=$W/restore/pgbr"
run_case basebackup_restore "mkdir -m 700 $W/restore/bb && zstd -q -d -c $W/basebackup/base.tar.zst | tar -x -C $W/restore/bb"
rm -rf "$W"/restore/*

if [ $s3 = yes ]; then
	echo "== the same to RGW (S3 over TLS)"
	s3env="AWS_CA_BUNDLE=$(rgw_get ca_file) DBOPS_ARCHIVE_CONFIG=$W/s3.conf DBOPS_ARCHIVE_REPO="
	run_case dbops_backup_s3 "env $s3env $ARCH backup-push"
	run_case pgbr_backup_s3 "pgbackrest --config=$W/pgbr.conf --stanza=bench --repo=2 backup --type=full"
	run_case dbops_restore_s3 "env $s3env $ARCH backup-fetch LATEST $W/restore/dbops"
	run_case pgbr_restore_s3 "pgbackrest --config=$W/pgbr.conf --stanza=bench --repo=2 restore --pg1-path=$W/restore/pgbr"
	rm -rf "$W"/restore/*
fi

# An incremental after 5% of the rows changed, each tool against its own
# previous backup: the first 5% of pgbench_accounts, then (for the second
# pair) the next 5%.
change() { # first last
	as_postgres psql -qXc "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid BETWEEN $1 AND $2" postgres
	as_postgres psql -qXc 'CHECKPOINT' postgres
	wait_archived
}
incr_case() { # name command repository
	local before
	before=$(dirsize "$3")
	run_case "$1" "$2"
	size[$1]=$(($(dirsize "$3") - before))
}
rows=$((SCALE * 5000))
echo "== 5% of the rows changed (rows 1 to $rows of pgbench_accounts)"
change 1 "$rows"
incr_case dbops_incr "$ARCH backup-push --incremental" "$W/repo-dbops/backup"
incr_case pgbr_incr "pgbackrest --config=$W/pgbr.conf --stanza=bench --repo=1 backup --type=incr" "$W/repo-pgbr/backup"
echo "== the next 5% changed (rows $((rows + 1)) to $((2 * rows)))"
change $((rows + 1)) $((2 * rows))
incr_case dbops_incr_cd "$ARCH backup-push --incremental --checksum-delta" "$W/repo-dbops/backup"
incr_case pgbr_incr2 "pgbackrest --config=$W/pgbr.conf --stanza=bench --repo=1 backup --type=incr" "$W/repo-pgbr/backup"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}'; }
mb() { awk -v b="$1" 'BEGIN {printf "%.0f", b / 1048576}'; }
echo
echo "| case | wall s | CPU s | repository MB | vs pgbackrest (wall / CPU / size) |"
echo "|---|---|---|---|---|"
row() { # label case peer
	echo "| $1 | ${wall[$2]} | ${cpu[$2]} | ${size[$2]:+$(mb "${size[$2]}")} |" \
		"$(ratio "${wall[$2]}" "${wall[$3]}") / $(ratio "${cpu[$2]}" "${cpu[$3]}")${size[$2]:+ / $(ratio "${size[$2]}" "${size[$3]}")} |"
}
row 'full backup: dbops_archive backup-push' dbops_backup pgbr_backup
row 'full backup: pgbackrest backup (zst, process-max 2)' pgbr_backup pgbr_backup
row 'full backup: pg_basebackup -Ft -Z zstd' basebackup pgbr_backup
row 'restore: dbops_archive backup-fetch' dbops_restore pgbr_restore
row 'restore: pgbackrest restore' pgbr_restore pgbr_restore
row 'restore: zstd -d \| tar -x of pg_basebackup' basebackup_restore pgbr_restore
if [ $s3 = yes ]; then
	row 'RGW full backup: dbops_archive backup-push' dbops_backup_s3 pgbr_backup_s3
	row 'RGW full backup: pgbackrest backup' pgbr_backup_s3 pgbr_backup_s3
	row 'RGW restore: dbops_archive backup-fetch' dbops_restore_s3 pgbr_restore_s3
	row 'RGW restore: pgbackrest restore' pgbr_restore_s3 pgbr_restore_s3
fi
row 'incremental, 5% rows: dbops_archive --incremental (size and mtime)' dbops_incr pgbr_incr
row 'incremental, 5% rows: pgbackrest --type=incr' pgbr_incr pgbr_incr
row 'next 5% rows: dbops_archive --incremental --checksum-delta' dbops_incr_cd pgbr_incr2
row 'next 5% rows: pgbackrest --type=incr' pgbr_incr2 pgbr_incr2
echo
echo "scale $SCALE, one run each, file:// repositories$([ $s3 = yes ] && echo " and Ceph RGW over TLS"), $(nproc) CPUs, $(date -u +%FT%TZ)"
