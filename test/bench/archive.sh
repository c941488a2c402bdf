#!/bin/bash
# test/bench/archive.sh: dbops_archive wal-push / wal-fetch against
# pgbackrest archive-push / archive-get and the single-process floors
# (`zstd -3` + fsync per segment to push, `zstd -d` per segment to fetch),
# on N real 16 MiB WAL segments made by pgbench on a throwaway cluster.
# One process per segment, in WAL order, as PostgreSQL runs archive_command
# and restore_command.  Prints ms per segment (wall, and CPU: user + system
# of every process) and ratios; never fails on a slow result.
#
# Run as root (the cluster runs as postgres).  Environment: N=64 segments,
# RUNS=3 timed runs per case (median), PORT=55490, KEEP=1 keeps the work dir.
set -euo pipefail

N=${N:-64}
RUNS=${RUNS:-3}
PORT=${PORT:-55490}
PGBIN=$(pg_config --bindir)
# DBOPS_ARCHIVE_BIN picks a build other than the installed one
ARCH=${DBOPS_ARCHIVE_BIN:-$(command -v dbops_archive || echo "$PGBIN/dbops_archive")}
[ "$(id -u)" = 0 ] || { echo "archive benchmark: run as root" >&2; exit 1; }
for b in pgbackrest zstd "$ARCH" "$PGBIN/pgbench"; do
	command -v "$b" >/dev/null || { echo "archive benchmark: missing $b" >&2; exit 1; }
done

W=$(mktemp -d "${TMPDIR:-/tmp}/dbops-bench-archive.XXXXXX")
chmod 755 "$W"
PGDATA=$W/pgdata
as_pg() { runuser -u postgres -- "$@"; }
cleanup() {
	# stop only the server this script started, through its own data directory
	if [ -f "$PGDATA/postmaster.pid" ]; then
		as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	[ -n "${KEEP:-}" ] && { echo "(kept $W)"; return; }
	rm -rf "$W"
}
trap cleanup EXIT
mkdir -p "$W"/{walsrc,segs,dst,log,spool,lock,repo-dbops,repo-pgbr}
chown -R postgres: "$W"

echo "== $N real WAL segments from pgbench (throwaway cluster on port $PORT)"
as_pg "$PGBIN/initdb" -D "$PGDATA" -A trust --no-sync >"$W/log/initdb.log"
cat >>"$PGDATA/postgresql.conf" <<EOF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$W'
archive_mode = on
archive_command = 'cp %p $W/walsrc/%f.tmp && mv $W/walsrc/%f.tmp $W/walsrc/%f'
max_wal_size = 2GB
synchronous_commit = off
EOF
as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$W/log/postgres.log" -w start >/dev/null
export PGHOST=$W PGPORT=$PORT
as_pg "$PGBIN/pgbench" -i -s 10 -q postgres >"$W/log/pgbench.log" 2>&1
# pgbench's filler is blanks: add a less compressible stream, as real tables are
as_pg "$PGBIN/psql" -qc 'CREATE TABLE payload (id bigserial PRIMARY KEY, v text)' postgres
echo "INSERT INTO payload (v) SELECT md5(random()::text) || md5(random()::text) FROM generate_series(1, 20);" >"$W/payload.sql"
chown postgres: "$W/payload.sql"
segments() { ls "$W/walsrc" | grep -E '^[0-9A-F]{24}$' | sort; }
while [ "$(segments | wc -l)" -lt $((N + 1)) ]; do
	as_pg "$PGBIN/pgbench" -n -c 2 -j 2 -T 5 -b tpcb-like@3 -f "$W/payload.sql@1" postgres >>"$W/log/pgbench.log" 2>&1
done
segments | head -n "$N" >"$W/seglist"
while read -r s; do cp "$W/walsrc/$s" "$W/segs/$s"; done <"$W/seglist"

cat >"$W/pgbr.conf" <<EOF
[global]
repo1-path=$W/repo-pgbr
compress-type=zst
log-path=$W/log
lock-path=$W/lock
spool-path=$W/spool
log-level-console=warn
log-level-file=off
[bench]
pg1-path=$PGDATA
pg1-port=$PORT
pg1-socket-path=$W
EOF
chown -R postgres: "$W"
as_pg pgbackrest --config="$W/pgbr.conf" --stanza=bench stanza-create >"$W/log/stanza.log" 2>&1
as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null

# The modes that work ahead need what PostgreSQL would show them: a data
# directory with pg_control, and pg_wal with .ready status files.
mkdir -p "$W/fakepg/global" "$W/fakepg/pg_wal/archive_status" "$W/spool-dbops"
cp "$PGDATA/global/pg_control" "$W/fakepg/global/"
cp "$PGDATA/PG_VERSION" "$W/fakepg/"
while read -r s; do ln "$W/segs/$s" "$W/fakepg/pg_wal/$s"; done <"$W/seglist"
sed -e "s#^pg1-path=.*#pg1-path=$W/fakepg#" -e 's/^\[bench\]/archive-async=y\nprocess-max=2\n[bench]/' \
	"$W/pgbr.conf" >"$W/pgbr-async.conf"
chown -R postgres: "$W"
echo "segments: $(head -1 "$W/seglist") .. $(tail -1 "$W/seglist"), $(du -sm "$W/segs" | cut -f1) MiB"

# One case: the command for one segment ($s), run for every segment in
# order, as postgres, from a fake data directory (the working directory of
# archive_command).  Prints the median total in ms.
cat >"$W/loop.sh" <<EOF
#!/bin/bash
set -e
export DBOPS_ARCHIVE_REPO=file://$W/repo-dbops
cd $W/\$2
while read -r s; do eval "\$1"; done <$W/seglist
EOF
chmod 755 "$W/loop.sh"
# Prints "WALL_MS CPU_MS", each the median of the runs; CPU is user +
# system time of the loop and everything it ran (GNU time).
run_case() { # name prepare command [directory under $W]
	local times=() cpus=() t0 t1
	for _ in $(seq "$RUNS"); do
		as_pg bash -c "$2"
		sync
		t0=$(date +%s%N)
		as_pg /usr/bin/time -f '%U %S' -o "$W/cpu" "$W/loop.sh" "$3" "${4:-.}" ||
			{ echo "case $1 failed" >&2; exit 1; }
		t1=$(date +%s%N)
		times+=($(((t1 - t0) / 1000000)))
		cpus+=($(awk '{printf "%d", ($1 + $2) * 1000}' "$W/cpu"))
	done
	echo "$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")" \
		"$(printf '%s\n' "${cpus[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")"
}
clean_dst="rm -rf $W/dst/* "
clean_dbops="rm -rf $W/repo-dbops/wal"
clean_pgbr="rm -rf $W/repo-pgbr/archive/bench/15-1 $W/spool/*"
ready="rm -rf $W/spool-dbops/* && cd $W/fakepg/pg_wal/archive_status && rm -f * && for s in \$(cat $W/seglist); do touch \$s.ready; done"
# as the archiver does: run the command, then mark the file done
done_after='; mv pg_wal/archive_status/$s.ready pg_wal/archive_status/$s.done'
ahead="DBOPS_ARCHIVE_SPOOL_PATH=$W/spool-dbops"

stored() { find "$1" -type f -name '0*' -printf '%s\n' | awk '{s += $1} END {print s}'; }
declare -A ms
ms[floor_push]=$(run_case floor_push "$clean_dst" 'zstd -3 -q -f segs/$s -o dst/$s.zst && sha256sum segs/$s >/dev/null && sync dst/$s.zst')
floor_bytes=$(stored "$W/dst")
ms[dbops_push]=$(run_case dbops_push "$clean_dbops" "$ARCH"' wal-push segs/$s')
ms[pgbr_push]=$(run_case pgbr_push "$clean_pgbr" "pgbackrest --config=$W/pgbr.conf --stanza=bench archive-push $W/"'segs/$s')
ms[dbops_push_ahead]=$(run_case dbops_push_ahead "$clean_dbops && $ready" "$ahead $ARCH"' wal-push pg_wal/$s'"$done_after" fakepg)
ms[pgbr_push_async]=$(run_case pgbr_push_async "$clean_pgbr && $ready" "pgbackrest --config=$W/pgbr-async.conf --stanza=bench archive-push $W/fakepg/"'pg_wal/$s'"$done_after" fakepg)
ms[dbops_repush]=$(run_case dbops_repush "true" "$ARCH"' wal-push segs/$s')
ms[floor_fetch]=$(run_case floor_fetch "rm -f $W/dst/*[0-9A-F]" 'zstd -d -q -f dst/$s.zst -o dst/$s')
ms[dbops_fetch]=$(run_case dbops_fetch "$clean_dst" "$ARCH"' wal-fetch $s dst/$s')
while read -r s; do cmp -s "$W/segs/$s" "$W/dst/$s" || { echo "wal-fetch: $s differs" >&2; exit 1; }; done <"$W/seglist"
ms[pgbr_fetch]=$(run_case pgbr_fetch "$clean_dst" "pgbackrest --config=$W/pgbr.conf --stanza=bench archive-get "'$s '"$W/"'dst/$s')
ms[dbops_fetch_ahead]=$(run_case dbops_fetch_ahead "$clean_dst; rm -rf $W/spool-dbops/*" "$ahead $ARCH"' wal-fetch $s ../dst/$s' fakepg)
while read -r s; do cmp -s "$W/segs/$s" "$W/dst/$s" || { echo "wal-fetch (prefetch): $s differs" >&2; exit 1; }; done <"$W/seglist"
ms[pgbr_fetch_async]=$(run_case pgbr_fetch_async "$clean_dst; rm -rf $W/spool/*" "pgbackrest --config=$W/pgbr-async.conf --stanza=bench archive-get "'$s '"$W/"'dst/$s' fakepg)

raw=$(du -sb "$W/segs" | cut -f1)
per() { awk -v t="$1" -v n="$N" 'BEGIN {printf "%.1f", t / n}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}'; }
wall() { echo "${ms[$1]% *}"; }
cpu() { echo "${ms[$1]#* }"; }

echo
echo "| case | ms/segment | CPU ms/segment | vs floor (wall / CPU) | vs pgbackrest, same mode (wall / CPU) | compression |"
echo "|---|---|---|---|---|---|"
row() { # label case floor peer [stored bytes]
	echo "| $1 | $(per "$(wall "$2")") | $(per "$(cpu "$2")") |" \
		"$(ratio "$(wall "$2")" "$(wall "$3")") / $(ratio "$(cpu "$2")" "$(cpu "$3")") |" \
		"${4:+$(ratio "$(wall "$2")" "$(wall "$4")") / $(ratio "$(cpu "$2")" "$(cpu "$4")")} |" \
		"${5:+$(ratio "$raw" "$5")} |"
}
row 'push: `zstd -3` + `sha256sum` + fsync (floor)' floor_push floor_push '' "$floor_bytes"
row 'push: dbops_archive wal-push' dbops_push floor_push pgbr_push "$(stored "$W/repo-dbops")"
row 'push: pgbackrest archive-push' pgbr_push floor_push pgbr_push "$(stored "$W/repo-pgbr")"
row 'push ahead: dbops_archive with spool-path' dbops_push_ahead floor_push pgbr_push_async
row 'push async: pgbackrest archive-async' pgbr_push_async floor_push pgbr_push_async
row 're-push, identical: dbops_archive' dbops_repush floor_push
row 'fetch: `zstd -d` (floor)' floor_fetch floor_fetch
row 'fetch: dbops_archive wal-fetch' dbops_fetch floor_fetch pgbr_fetch
row 'fetch: pgbackrest archive-get' pgbr_fetch floor_fetch pgbr_fetch
row 'prefetch: dbops_archive with spool-path' dbops_fetch_ahead floor_fetch pgbr_fetch_async
row 'prefetch: pgbackrest archive-async' pgbr_fetch_async floor_fetch pgbr_fetch_async
echo
echo "N=$N segments, median of $RUNS runs, $(nproc) CPUs, $(date -u +%FT%TZ)"
