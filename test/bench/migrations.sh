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
#   sqitch       sqitch deploy (Debian; one psql process per change)
# Part 2: the 300 generated migrations of the 300-migration proof, dbops and
# dbmate against the psql floor.
#
# Every client connects over the Unix socket.  Every run starts from a fresh
# database (created, and for sqitch given its registry, outside the timing)
# and is checked afterwards: a fast run that did not apply everything is an
# error, not a result.  Times are wall-clock: the median over REPS runs and,
# since the machine may be shared, the best run too.  Ratios are printed with
# the targets; nothing fails on a slow result.
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

# The server runs from a private copy of the PostgreSQL installation with
# this tree's dbops installed into it (PostgreSQL finds lib/ and share/
# relative to its executable), so the run measures this build even while
# another checkout installs its own into the system.
for d in "$(dirname "$PG_BINDIR")" "$(pg_config --sharedir)"; do
	mkdir -p "$work/install$(dirname "$d")"
	cp -a "$d" "$work/install$(dirname "$d")/"
done
make -s install DESTDIR="$work/install" >/dev/null
PG_BINDIR=$work/install$PG_BINDIR

# The directory form reads files on the server: everything under $work is
# readable by the postgres OS user.  Each set is written in each tool's
# layout; the floor is its up SQL concatenated.
gen() { perl test/migrations_gen/generate.pl "$@" >/dev/null; }
for layout in hasura dbmate sqitch; do
	gen --trivial --count "$N" --layout $layout --out "$work/trivial.$layout"
	gen --count 300 --seed 1 --layout $layout --out "$work/real.$layout"
done
for set in trivial real; do
	for d in "$work/$set.hasura"/*/; do cat "$d/up.sql"; done >"$work/$set.sql"
done
printf '[engine "pg"]\n\tclient = %s/psql\n' "$PG_BINDIR" >>"$work/trivial.sqitch/sqitch.conf"
chmod -R a+rX "$work"

cluster_start "$work/pg" "shared_preload_libraries = 'dbops'" >/dev/null
export PGDATABASE=postgres
psql_q() { "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

fresh_db() {
	psql_q -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS bench" -c "CREATE DATABASE bench"
	[ "${1:-}" = dbops ] && psql_q -d bench -c 'CREATE EXTENSION dbops'
	return 0
}

# Milliseconds since $1 (an $EPOCHREALTIME reading).
ms_since() { echo "$EPOCHREALTIME $1" | awk '{ printf "%.1f", ($1 - $2) * 1000 }'; }

# Each run_* applies set $1 to a fresh database "bench" and prints its time.
run_psql() {
	local t0
	fresh_db
	t0=$EPOCHREALTIME
	psql_q -d bench -1 -f "$work/$1.sql"
	ms_since "$t0"
}
run_dbops() {
	local t0
	fresh_db dbops
	t0=$EPOCHREALTIME
	# (Sqitch's BEGIN/COMMIT get a NOTICE each)
	PGOPTIONS='-c client_min_messages=warning' \
		psql_q -d bench -Atc "SELECT count(*) FROM dbops.apply_migrations('$work/$1.${2:-hasura}')" >/dev/null
	ms_since "$t0"
	[ "$(psql_q -d bench -Atc 'SELECT count(*) FROM dbops.schema_migrations')" = "$(count "$1")" ] ||
		{ echo "dbops did not record every migration" >&2; return 1; }
}
# dbops reading the Sqitch project (a team switching from sqitch)
run_dbops_sqitch() { run_dbops "$1" sqitch; }
run_dbmate() {
	local t0
	fresh_db
	t0=$EPOCHREALTIME
	DATABASE_URL="postgres://postgres@/bench?socket=$PGHOST&sslmode=disable" \
		"$DBMATE" --no-dump-schema --migrations-dir "$work/$1.dbmate" up >/dev/null
	ms_since "$t0"
	[ "$(psql_q -d bench -Atc 'SELECT count(*) FROM schema_migrations')" = "$(count "$1")" ] ||
		{ echo "dbmate did not record every migration" >&2; return 1; }
}
run_sqitch() {
	local t0 first
	fresh_db
	# the registry (schema sqitch) is created by a first deploy, not timed
	first=$(sed -n 's/^\([0-9][^ ]*\) .*/\1/p' "$work/$1.sqitch/sqitch.plan" | head -1)
	(cd "$work/$1.sqitch" && sqitch deploy -t db:pg:bench --to "$first" >/dev/null &&
		sqitch revert -y -t db:pg:bench >/dev/null)
	t0=$EPOCHREALTIME
	(cd "$work/$1.sqitch" && sqitch deploy -t db:pg:bench >/dev/null)
	ms_since "$t0"
	[ "$(psql_q -d bench -Atc 'SELECT count(*) FROM sqitch.changes')" = "$(count "$1")" ] ||
		{ echo "sqitch did not record every change" >&2; return 1; }
}
count() { ls "$work/$1.hasura" | wc -l; }

export SQITCH_USER_CONFIG=$work/sqitch-user.conf SQITCH_SYSTEM_CONFIG=/dev/null
printf '[user]\n\tname = Bench\n\temail = bench@example.invalid\n' >"$SQITCH_USER_CONFIG"

# "median min" of the numbers in $1
stats() { echo "$1" | tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[1] }'; }

# bench SET REPS TOOL...: runs each tool REPS times on SET (sqitch at most
# SQITCH_REPS times), the tools in turn within each repetition so that a
# change of load on this shared machine hits all of them, then prints each
# tool's median, best run and all runs, and keeps the median and the best
# run in med[TOOL.SET] and best[TOOL.SET].
declare -A med best
bench() {
	local set=$1 reps=$2 r tool
	shift 2
	declare -A runs
	for r in $(seq 1 "$reps"); do
		for tool in "$@"; do
			[ "$tool" = sqitch ] && [ "$r" -gt "$SQITCH_REPS" ] && continue
			runs[$tool]="${runs[$tool]:-} $("run_$tool" "$set")"
		done
	done
	printf '  %-12s %9s %14s %9s\n' tool median ms/migration best
	for tool in "$@"; do
		read -r "med[$tool.$set]" "best[$tool.$set]" <<<"$(stats "${runs[$tool]}")"
		printf '  %-12s %9.1f %14.2f %9.1f   (runs:%s)\n' "$tool" "${med[$tool.$set]}" \
			"$(awk -v t="${med[$tool.$set]}" -v n="$(count "$set")" 'BEGIN { print t / n }')" \
			"${best[$tool.$set]}" "${runs[$tool]}"
	done
}
# ratio A B: A/B of the medians, and of the best runs in parentheses
ratio() {
	awk -v a="${med[$1]}" -v b="${med[$2]}" -v c="${best[$1]}" -v d="${best[$2]}" \
		'BEGIN { printf "%.2fx (best runs %.2fx)", a / b, c / d }'
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
	"PostgreSQL $(psql_q -Atc 'SHOW server_version'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tools: dbmate $("$DBMATE" --version | awk '{ print $NF }'), $(sqitch --version | head -1)"

echo
echo "== $N trivial migrations (table + index + comment), ms, $REPS runs (sqitch $SQITCH_REPS)"
bench trivial "$REPS" psql dbops dbops_sqitch dbmate sqitch
echo "  dbops/psql   $(ratio dbops.trivial psql.trivial)   target <= 1.10"
echo "  dbmate/dbops $(ratio dbmate.trivial dbops.trivial)   target > 1"
echo "  sqitch/dbops $(ratio sqitch.trivial dbops.trivial)   target >= 10"

echo
echo "== 300 generated migrations of realistic variety (seed 1), ms, $REPS runs"
bench real "$REPS" psql dbops dbmate
echo "  dbops/psql   $(ratio dbops.real psql.real)   target <= 1.10"
echo "  dbmate/dbops $(ratio dbmate.real dbops.real)"
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
