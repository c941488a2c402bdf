#!/bin/bash
# test/bench/migrations.sh: how fast dbops applies migrations, next to the
# tools a team would otherwise use, in one run on one throwaway cluster.
#
# Part 1: N trivial migrations (one table, one index, one comment each;
# test/migrations_gen/generate.pl --trivial, in each tool's layout) applied by
#   psql -1      the concatenated up SQL in one transaction: the floor
#   dbops        SELECT dbops.apply_migrations('<directory>')
#   dbops_sqitch the same, reading the Sqitch project that sqitch deploys
#   dbmate       dbmate up (test/node_modules, Go binary, one transaction
#                per migration)
#   sqitch       sqitch deploy (Debian; one psql process per change, psql
#                being Debian's wrapper script pg_wrapper)
#   sqitch_bin   the same with the psql binary as client
# Part 2: the 300 generated migrations of the 300-migration proof, dbops and
# dbmate against the psql floor.
# Part 3: the dbops client (client/) applying 200 and 1000 trivial
# migrations from a directory on the client: it reads the files, sends them
# as one jsonb map, and the server applies them in one transaction; against
# dbmate and the psql floor.
#
# Every client connects over the Unix socket.  Every run starts from a fresh
# database (created, and for sqitch given its registry, outside the timing)
# and is checked afterwards: a fast run that did not apply everything is an
# error, not a result.  Times: the wall-clock median over REPS runs and,
# since the machine may be shared, the best run and the median CPU time of
# clients plus server backends (which other load disturbs less, but which
# leaves out waiting for fsync).  Ratios are printed with the targets;
# nothing fails on a slow result.
#
# Environment: N (200), REPS (7), SQITCH_REPS (3; sqitch takes seconds).
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
cd "$src"
. test/lib/cluster.sh

N=${N:-200}
REPS=${REPS:-7}
SQITCH_REPS=${SQITCH_REPS:-3}
DBMATE=$src/test/node_modules/.bin/dbmate

work=$(mktemp -d /tmp/dbops-bench-migrations.XXXXXX)
chmod 755 "$work"
trap 'cluster_stop "$work/pg"; rm -rf "$work"' EXIT

# The server (and the dbops client) run from a private copy of the
# installation with this tree's dbops (test/lib/cluster.sh).
cluster_private_install "$work"

# The directory form reads files on the server: everything under $work is
# readable by the postgres OS user.  Each set is written in each tool's
# layout; the floor is its up SQL concatenated.
gen() { perl test/migrations_gen/generate.pl "$@" >/dev/null; }
for layout in hasura dbmate sqitch; do
	gen --trivial --count "$N" --layout $layout --out "$work/trivial.$layout"
	gen --count 300 --seed 1 --layout $layout --out "$work/real.$layout"
done
for layout in hasura dbmate; do
	gen --trivial --count 1000 --layout $layout --out "$work/trivial1000.$layout"
done
for set in trivial real trivial1000; do
	for d in "$work/$set.hasura"/*/; do cat "$d/up.sql"; done >"$work/$set.sql"
done
chmod -R a+rX "$work"

# autovacuum is off: its workers would add CPU time to the runs (cpu_now)
cluster_start "$work/pg" "shared_preload_libraries = 'dbops'" "autovacuum = off" >/dev/null
export PGDATABASE=postgres
postmaster=$(head -1 "$work/pg/data/postmaster.pid")
clk=$(getconf CLK_TCK)
psql_q() { "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

# A fresh database "bench" (with dbops if $1 is dbops), then a checkpoint,
# so that writing out the copied template does not fall into the timed
# run, and a pause (see cpu_now).
fresh_db() {
	psql_q -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS bench" -c "CREATE DATABASE bench"
	[ "${1:-}" = dbops ] && psql_q -d bench -c 'CREATE EXTENSION dbops'
	psql_q -c CHECKPOINT
	sleep 0.3
}

# CPU milliseconds used so far by this shell's finished children (the
# clients) and the server's finished backends (the postmaster's children),
# into CPU.  A backend exits just after its client does, so callers pause
# before reading.  Less sensitive to other load than wall-clock time.
cpu_now() {
	times >"$work/times"
	CPU=$(awk -v pm="$(cut -d' ' -f16,17 "/proc/$postmaster/stat")" -v clk="$clk" '
		function sec(t) { split(t, a, /[ms]/); return a[1] * 60 + a[2] }
		NR == 2 { split(pm, p, " "); printf "%.1f", (sec($1) + sec($2)) * 1000 + (p[1] + p[2]) * 1000 / clk }' \
		"$work/times")
}

# timed CMD...: runs CMD, prints its wall-clock and CPU milliseconds.
timed() {
	local t0 c0 wall
	cpu_now
	c0=$CPU
	t0=$EPOCHREALTIME
	"$@" >/dev/null
	wall=$(awk -v a="$EPOCHREALTIME" -v b="$t0" 'BEGIN { printf "%.1f", (a - b) * 1000 }')
	sleep 0.3
	cpu_now
	echo "$wall $(awk -v a="$CPU" -v b="$c0" 'BEGIN { printf "%.1f", a - b }')"
}

count() { ls "$work/$1.hasura" | wc -l; }
# A run that did not record every migration of set $1 in table $2 is an error.
check_count() {
	[ "$(psql_q -d bench -Atc "SELECT count(*) FROM $2")" = "$(count "$1")" ] ||
		{ echo "$2 lacks migrations of $1" >&2; return 1; }
}

# Each run_* applies set $1 to a fresh database and prints "wall cpu".
run_psql() {
	fresh_db
	timed psql_q -d bench -1 -f "$work/$1.sql"
}
run_dbops() {
	fresh_db dbops
	# (Sqitch's BEGIN/COMMIT get a NOTICE each)
	PGOPTIONS='-c client_min_messages=warning' timed psql_q -d bench \
		-c "SELECT count(*) FROM dbops.apply_migrations('$work/$1.${2:-hasura}')"
	check_count "$1" dbops.schema_migrations
}
# dbops reading the Sqitch project (a team switching from sqitch)
run_dbops_sqitch() { run_dbops "$1" sqitch; }
# the dbops client, reading the directory on the client side
run_client() {
	fresh_db dbops
	timed "$PG_BINDIR/dbops" migrate apply "$work/$1.hasura" -d bench
	check_count "$1" dbops.schema_migrations
}
run_dbmate() {
	fresh_db
	DATABASE_URL="postgres://postgres@/bench?socket=$PGHOST&sslmode=disable" \
		timed "$DBMATE" --no-dump-schema --migrations-dir "$work/$1.dbmate" up
	check_count "$1" schema_migrations
}
sqitch_in() { (cd "$work/$1.sqitch" && shift && sqitch "$@" -t db:pg:bench); }
# sqitch as Debian ships it runs `psql` from PATH, postgresql-common's Perl
# wrapper; sqitch_bin gives it the psql binary itself.
run_sqitch() {
	local first
	fresh_db
	# the registry (schema sqitch) is created by a first deploy, not timed
	first=$(sed -n 's/^\([0-9][^ ]*\) .*/\1/p' "$work/$1.sqitch/sqitch.plan" | head -1)
	sqitch_in "$1" deploy --to "$first" >/dev/null
	sqitch_in "$1" revert -y >/dev/null
	timed sqitch_in "$1" deploy "${@:2}"
	check_count "$1" sqitch.changes
}
run_sqitch_bin() { run_sqitch "$1" --client "$PG_BINDIR/psql"; }

export SQITCH_USER_CONFIG=$work/sqitch-user.conf SQITCH_SYSTEM_CONFIG=/dev/null
printf '[user]\n\tname = Bench\n\temail = bench@example.invalid\n' >"$SQITCH_USER_CONFIG"

# "median min" of the numbers in $1
stats() { echo "$1" | tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[1] }'; }
per() { awk -v t="$1" -v n="$2" 'BEGIN { printf "%.2f", t / n }'; }

# bench SET REPS TOOL...: runs each tool REPS times on SET (sqitch at most
# SQITCH_REPS times), the tools in turn within each repetition so that a
# change of load on this shared machine hits all of them.  Prints, per tool,
# the wall-clock median (total and per migration), the best run and the CPU
# median, and keeps them in med, best and cpu[TOOL.SET].
declare -A med best cpu
bench() {
	local set=$1 reps=$2 r tool out n
	shift 2
	n=$(count "$set")
	declare -A walls cpus
	for r in $(seq 1 "$reps"); do
		for tool in "$@"; do
			[ "${tool#sqitch}" != "$tool" ] && [ "$r" -gt "$SQITCH_REPS" ] && continue
			out=$("run_$tool" "$set")
			walls[$tool]="${walls[$tool]:-} ${out% *}"
			cpus[$tool]="${cpus[$tool]:-} ${out#* }"
		done
	done
	printf '  %-12s %12s %9s %9s %12s %9s\n' '' 'wall median' per-migr best 'CPU median' per-migr
	for tool in "$@"; do
		read -r "med[$tool.$set]" "best[$tool.$set]" <<<"$(stats "${walls[$tool]}")"
		read -r "cpu[$tool.$set]" _ <<<"$(stats "${cpus[$tool]}")"
		printf '  %-12s %12.1f %9s %9.1f %12.1f %9s   (wall:%s)\n' "$tool" "${med[$tool.$set]}" \
			"$(per "${med[$tool.$set]}" "$n")" "${best[$tool.$set]}" "${cpu[$tool.$set]}" \
			"$(per "${cpu[$tool.$set]}" "$n")" "${walls[$tool]}"
	done
}
# ratio LABEL A B [NOTE]: A/B of the wall-clock medians, of the best runs
# and of the CPU medians
ratio() {
	awk -v l="$1" -v a="${med[$2]}" -v b="${med[$3]}" -v c="${best[$2]}" -v d="${best[$3]}" \
		-v e="${cpu[$2]}" -v f="${cpu[$3]}" -v note="${4:-}" \
		'BEGIN { printf "  %-16s %5.2fx   best runs %5.2fx   CPU %5.2fx   %s\n", l, a / b, c / d, e / f, note }'
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
	"PostgreSQL $(psql_q -Atc 'SHOW server_version'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tools: dbmate $("$DBMATE" --version | awk '{ print $NF }'), $(sqitch --version | head -1)"
echo "times in ms; CPU is the clients' and the server backends' user + system time"

echo
echo "== $N trivial migrations (table + index + comment), $REPS runs (sqitch $SQITCH_REPS)"
bench trivial "$REPS" psql dbops dbops_sqitch dbmate sqitch sqitch_bin
ratio dbops/psql dbops.trivial psql.trivial "target <= 1.10"
ratio dbmate/dbops dbmate.trivial dbops.trivial "target > 1"
ratio sqitch/dbops sqitch.trivial dbops.trivial "target >= 10"
ratio sqitch_bin/dbops sqitch_bin.trivial dbops.trivial

echo
echo "== 300 generated migrations of realistic variety (seed 1), $REPS runs"
bench real "$REPS" psql dbops dbmate
ratio dbops/psql dbops.real psql.real "target <= 1.10"
ratio dbmate/dbops dbmate.real dbops.real

for set in trivial trivial1000; do
	echo
	echo "== the dbops client: $(count $set) trivial migrations from a directory on the client, $REPS runs"
	bench "$set" "$REPS" psql client dbops dbmate
	ratio client/psql "client.$set" "psql.$set" "target <= 1.10"
	ratio client/dbops "client.$set" "dbops.$set" "the client against the server-side directory"
	ratio dbmate/client "dbmate.$set" "client.$set" "target > 1"
done
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
